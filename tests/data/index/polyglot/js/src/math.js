/** Adds two numbers. */
export function add(a, b) {
  return a + b;
}

export class Vector {
  constructor(x, y) { this.x = x; this.y = y; }
  length() { return Math.sqrt(this.x * this.x + this.y * this.y); }
}
