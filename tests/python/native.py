import datetime
import enum


class Color(enum.Enum):
    Red = 1
    Green = 2


class P:
    def __init__(self):
        self.x = 1.5
        self.y = -2.0


def build():
    return (
        Color.Green,
        datetime.datetime(2024, 5, 6, 7, 8, 9),
        datetime.timedelta(minutes=90),
        (1, 2, 3),
        P(),
        3,
    )
