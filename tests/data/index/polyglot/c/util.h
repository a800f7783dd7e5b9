#ifndef UTIL_H
#define UTIL_H
#define SQUARE(x) ((x) * (x))

struct pair { int a; int b; };

int sum_pair(const struct pair *p);

#endif
