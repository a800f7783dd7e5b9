const { mean, total } = require("./calc");

describe("calc", () => {
  it("adds", () => {
    expect(total([1, 2])).toBe(3);
  });

  it("means", () => {
    expect(mean([2, 4, 6])).toBe(4);
  });
});
