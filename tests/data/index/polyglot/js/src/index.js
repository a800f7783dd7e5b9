import { add } from './math';
const lib = require('./lib');

// Entry point.
export function run(a, b) {
  return lib.twice(add(a, b));
}

export const answer = () => run(20, 1);
