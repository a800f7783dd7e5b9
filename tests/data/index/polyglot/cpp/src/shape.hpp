#pragma once

namespace geo {

class Circle {
public:
    explicit Circle(double r);
    double area() const;
private:
    double r_;
};

}  // namespace geo
