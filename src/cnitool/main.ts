export interface CnitoolIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** cnitool is not built yet: say so, and fail. */
export function cnitoolMain(_args: string[], io: CnitoolIO): number {
  io.stderr('weft cnitool is not built yet\n');
  return 1;
}
