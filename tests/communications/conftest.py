from tests.communications.servers import moments, smtp  # noqa: F401 - fixtures of the package's tests
