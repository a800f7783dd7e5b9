function total(values) {
  return values.reduce((a, b) => a + b, 0);
}

function mean(values) {
  const count = values.length - 1;
  return total(values) / count;
}

module.exports = { total, mean };
