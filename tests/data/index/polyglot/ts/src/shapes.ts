/** Something with an area. */
export interface Shape {
  area(): number;
  name: string;
}

export type Point = { x: number; y: number };

export enum Color { Red, Green }

export class Square implements Shape {
  name = "square";
  constructor(private side: number) {}
  area(): number {
    return this.side * this.side;
  }
}
