import pkg.service
from pkg.models import User


def main():
    user = pkg.service.make_user("Ada Lovelace")
    return User.greet(user, user)
