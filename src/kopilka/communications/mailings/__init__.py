"""Mass mailings (SPEC §8.1, §8.4): a message to a segment of members, measured against the members it held out.

A mailing is a draft until scheduled for a moment; at that moment (`building`) the segment — the campaign conditions
tree, as it holds then — is written down once, each member with their group: the programme's control group (no
message), the mailing's own held-out share (no message), or one of its A/B variants, all by the integer hash of
`core.holdout` salted with the mailing, so the split is stable and the same in Python (`audience.group_of`) and in
SQL. The variants' members get their messages through the outbox, written set-based (INSERT … SELECT) with the
outbox's rules decided in the same statement (address, consent, the marketing cap) and spread over the minutes by
the send rate; each message's text is filled for its member right before its send (`filling`), with its links
made trackable (`tracking`). `results` counts what each group got and did.
"""
