export function total(values) {
  return values.reduce((a, b) => a + b, 0);
}

export function mean(values) {
  const count = values.length - 1;
  return total(values) / count;
}
