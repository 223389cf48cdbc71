import { fsErrorMessage } from './oserror.ts';

// CNI error codes (SPEC "Error" table plus the codes Go's skel adds: 8 and 999).
export const ErrorCode = {
  Unknown: 0,
  IncompatibleCNIVersion: 1,
  UnsupportedField: 2,
  UnknownContainer: 3,
  InvalidEnvironmentVariables: 4,
  IOFailure: 5,
  DecodingFailure: 6,
  InvalidNetworkConfig: 7,
  InvalidNetNS: 8,
  TryAgainLater: 11,
  PluginNotAvailable: 50,
  LimitedConnectivity: 51,
  Internal: 999,
} as const;

/**
 * The one error type that crosses module boundaries. It carries the CNI code
 * all the way to stdout, so no layer has to guess a code from a message.
 */
export class CniError extends Error {
  readonly code: number;
  readonly msg: string;
  readonly details: string;

  constructor(code: number, msg: string, details = '') {
    super(details ? `${msg}; ${details}` : msg);
    this.name = 'CniError';
    this.code = code;
    this.msg = msg;
    this.details = details;
  }

  toJSON(): { code: number; msg: string; details?: string } {
    return this.details
      ? { code: this.code, msg: this.msg, details: this.details }
      : { code: this.code, msg: this.msg };
  }

  /** Prefix the message, keeping code and details: Go's fmt.Errorf("ctx: %w"). */
  wrap(prefix: string): CniError {
    return new CniError(this.code, `${prefix}: ${this.msg}`, this.details);
  }
}

/**
 * The errors a verb collected instead of stopping at the first (GC: the spec
 * asks for as much done as can be) as one to throw: a single one as it is,
 * several with the first one's code and every message on its own line.
 */
export function collectedError(errors: readonly CniError[]): CniError | undefined {
  if (errors.length <= 1) return errors[0];
  return new CniError(errors[0]!.code, errors.map((e) => e.message).join('\n'));
}

/**
 * Any thrown value as a CniError; foreign errors become code 999 like skel
 * does, a system error in Go's words ("open /x: permission denied").
 */
export function asCniError(err: unknown): CniError {
  if (err instanceof CniError) return err;
  if (err instanceof Error) return new CniError(ErrorCode.Internal, fsErrorMessage(err));
  return new CniError(ErrorCode.Internal, String(err));
}

const JS_FAULTS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/**
 * A fault of JavaScript itself (a TypeError, a stack overflow): a bug in
 * weft, not a condition it knows, whose own words would tell an operator
 * nothing. Errors weft raises on purpose are CniErrors or plain Errors.
 */
export const isJavaScriptFault = (err: unknown): err is Error => JS_FAULTS.some((t) => err instanceof t);

/** The message of any error value, the way Go's err.Error() would show it. */
export function errorText(err: unknown): string {
  if (err instanceof CniError) return err.message;
  if (err instanceof Error) return fsErrorMessage(err);
  return String(err);
}

/** Prefix any error (CniError keeps its code; others become 999). */
export function wrapError(prefix: string, err: unknown): CniError {
  return asCniError(err).wrap(prefix);
}
