#include "shape.hpp"

namespace geo {

Circle::Circle(double r) : r_(r) {}

// Pi r squared.
double Circle::area() const {
    return 3.14159 * r_ * r_;
}

}  // namespace geo
