pub fn total(values: &[f64]) -> f64 {
    values.iter().sum()
}

pub fn mean(values: &[f64]) -> f64 {
    let count = values.len() - 1;
    total(values) / count as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_adds() {
        assert_eq!(total(&[1.0, 2.0]), 3.0);
    }

    #[test]
    fn mean_of_three() {
        assert_eq!(mean(&[2.0, 4.0, 6.0]), 4.0);
    }
}
