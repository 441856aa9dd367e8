/**
 * The shim's own log (DIR/shim.log): its errors and the output it had to
 * drop. Modules log through here; main.ts decides where it goes.
 */
let sink: (msg: string) => void = () => {};

export function setShimLog(fn: (msg: string) => void): void {
  sink = fn;
}

export function shimLog(msg: string): void {
  sink(msg);
}
