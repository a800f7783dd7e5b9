// A tiny cart for the shop's web page.
import { formatCents } from "./format.js";

export class Cart {
  constructor() {
    this.lines = [];
  }

  add(sku, priceCents, quantity = 1) {
    this.lines.push({ sku, priceCents, quantity });
  }

  totalCents() {
    return this.lines.reduce((sum, line) => sum + line.priceCents * line.quantity, 0);
  }

  summary() {
    return `${this.lines.length} lines, ${formatCents(this.totalCents())}`;
  }
}
