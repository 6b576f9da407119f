/** Shape checks and shape arithmetic shared by the primitives and the Prims implementations (no data). */
import { invariant } from '../util/errors.js';
import { numel, shapeEq, type Shape } from '../ring/tensor.js';

export function sameShape(a: { shape: Shape }, b: { shape: Shape }, what: string): void {
  invariant(
    shapeEq(a.shape, b.shape),
    'E_SHAPE',
    `${what}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`,
  );
}

export function sameScale(a: { fracBits: number }, b: { fracBits: number }, what: string): void {
  invariant(a.fracBits === b.fracBits, 'E_INTERNAL', `${what}: scales ${a.fracBits} and ${b.fracBits} differ`);
}

export function lastDim(shape: Shape): number {
  return shape.length ? shape[shape.length - 1]! : 1;
}

export function sliceLastShape(shape: Shape, start: number, end: number): Shape {
  const last = lastDim(shape);
  invariant(
    Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= last,
    'E_SHAPE',
    `slice [${start}, ${end}) of last axis ${last}`,
  );
  return [...shape.slice(0, -1), end - start];
}

export function concatLastShape(shapes: readonly Shape[]): Shape {
  invariant(shapes.length > 0, 'E_SHAPE', 'concat of nothing');
  const lead = shapes[0]!.slice(0, -1);
  for (const s of shapes) invariant(shapeEq(s.slice(0, -1), lead), 'E_SHAPE', 'concatLast: leading dimensions differ');
  return [...lead, shapes.reduce((t, s) => t + lastDim(s), 0)];
}

export function concatFirstShape(shapes: readonly Shape[]): Shape {
  invariant(shapes.length > 0, 'E_SHAPE', 'concat of nothing');
  const rest = shapes[0]!.slice(1);
  for (const s of shapes) invariant(shapeEq(s.slice(1), rest), 'E_SHAPE', 'concatFirst: trailing dimensions differ');
  return [shapes.reduce((t, s) => t + s[0]!, 0), ...rest];
}

export function transposeShape(shape: Shape): Shape {
  invariant(shape.length >= 2, 'E_SHAPE', 'transpose needs two axes');
  return [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!];
}

/** Checks a pick's index list against the source length. */
export function checkPick(srcLen: number, shape: Shape, idx: Int32Array): void {
  invariant(idx.length === numel(shape), 'E_SHAPE', `pick: ${idx.length} indices for shape [${shape.join(', ')}]`);
  let max = -1;
  for (let i = 0; i < idx.length; i++) if (idx[i]! > max) max = idx[i]!;
  invariant(max < srcLen, 'E_SHAPE', () => `pick: index ${max} outside ${srcLen}`);
}
