from . import util
from .models import User, MAX_USERS
import json


def make_user(name):
    return User(util.slugify(name))


def greet_all(users):
    return [u.greet(u) for u in users[:MAX_USERS]]
