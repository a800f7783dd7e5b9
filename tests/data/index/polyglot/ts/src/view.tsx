import { Square } from './shapes';

export function View(props: { side: number }) {
  const sq = new Square(props.side);
  return <div className="view">{sq.area()}</div>;
}
