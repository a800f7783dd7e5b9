/// A point in the plane.
pub struct Point {
    pub x: f64,
    pub y: f64,
}

pub trait Area {
    fn area(&self) -> f64;
}

impl Point {
    pub fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
}

impl Area for Point {
    fn area(&self) -> f64 {
        self.x * self.y
    }
}
