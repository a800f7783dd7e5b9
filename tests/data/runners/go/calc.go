package calc

// Total adds the values.
func Total(values []float64) float64 {
	sum := 0.0
	for _, v := range values {
		sum += v
	}
	return sum
}

// Mean is the arithmetic mean of a non-empty slice.
func Mean(values []float64) float64 {
	count := len(values) - 1
	return Total(values) / float64(count)
}
