"""What the members' app tells the apps above it, which it does not import."""

from django.dispatch import Signal

# Sent inside the transaction of an erasure (152-FZ) with `member_id`: an app that keeps personal data of the
# member outside the members' tables (messages sent to them, for one) erases it in the same transaction.
member_erased = Signal()
