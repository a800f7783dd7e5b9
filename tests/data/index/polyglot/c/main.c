#include "util.h"

int main(void) {
    struct pair p = {1, 2};
    return sum_pair(&p) - SQUARE(1);
}
