import type { Tolerance } from './plan-language.ts';

// The HNS/HCN failures weft tells apart, by HRESULT: from HNSCall or an Hcn*
// function, or an error envelope's ErrorCode. Codes: winerror.h
// (HRESULT_FROM_WIN32 of ERROR_NOT_FOUND 1168 and ERROR_OBJECT_ALREADY_EXISTS
// 5010) and the HCN error table (HCN_E_*, 0x803B00xx). HNS's texts are
// localized, so a message fragment counts only for a v1 error envelope that
// carries no code, and no command relies on it alone: DEL looks again
// whether the endpoint is gone, ADD whether the namespace holds it.

export const HRESULT = {
  /** "Element not found." */
  elementNotFound: 0x80070490,
  /** "The object already exists." */
  objectAlreadyExists: 0x80071392,
  networkNotFound: 0x803b0001,
  endpointNotFound: 0x803b0002,
  /** HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS: the endpoint is in a namespace, this one or another. */
  endpointNamespaceAlreadyExists: 0x803b002b,
} as const;

export const NOT_FOUND: Tolerance = {
  hresults: [HRESULT.elementNotFound, HRESULT.networkNotFound, HRESULT.endpointNotFound],
  messages: ['not found'],
};

/** Every failure: for best-effort steps, and for steps whose outcome the plan then checks in HNS's state. */
export const ANY_FAILURE: Tolerance = { any: true };

/** Every failure, kept as the step's output for the plugin to report. */
export const ANY_FAILURE_KEPT: Tolerance = { any: true, keep: true };

export const isNotFound = (hr: number | null): boolean => hr !== null && NOT_FOUND.hresults!.includes(hr);

export const hex = (hr: number): string => `0x${hr.toString(16).padStart(8, '0')}`;
