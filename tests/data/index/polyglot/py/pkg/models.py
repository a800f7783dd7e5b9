"""Data models."""

MAX_USERS = 10


class User:
    """A user of the system."""

    kind = "human"

    def __init__(self, name: str) -> None:
        self.name = name

    # Say hello.
    def greet(self, other: "User") -> str:
        def shout(text):
            return text.upper()
        return shout(f"hello {other.name} from {self.name}")
