mod geometry;

use crate::geometry::{Area, Point};

fn main() {
    let p = Point::new(1.0, 2.0);
    println!("{}", p.area());
}
