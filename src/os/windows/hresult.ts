import type { Tolerance } from './plan-language.ts';

// The HNS/HCN failures weft tells apart. HNS reports them two ways: a failing
// HRESULT from HNSCall or an Hcn* function, or (v1 API) a response envelope
// with Success false and only a message such as "Element not found.". So each
// class is a set of HRESULTs plus message fragments. Codes: winerror.h
// (HRESULT_FROM_WIN32 of ERROR_NOT_FOUND 1168 and ERROR_OBJECT_ALREADY_EXISTS
// 5010) and the HCN error table (HCN_E_*, 0x803B00xx).

export const HRESULT = {
  /** "Element not found." */
  elementNotFound: 0x80070490,
  /** "The object already exists." */
  objectAlreadyExists: 0x80071392,
  networkNotFound: 0x803b0001,
  endpointNotFound: 0x803b0002,
  endpointAlreadyAttached: 0x803b0014,
} as const;

export const NOT_FOUND: Tolerance = {
  hresults: [HRESULT.elementNotFound, HRESULT.networkNotFound, HRESULT.endpointNotFound],
  messages: ['not found'],
};

/**
 * Attaching what is already attached is the state an ADD asks for. Not so
 * HCN_E_ENDPOINT_NAMESPACE_ALREADY_EXISTS: that endpoint is in another namespace.
 */
export const ALREADY_ATTACHED: Tolerance = {
  hresults: [HRESULT.objectAlreadyExists, HRESULT.endpointAlreadyAttached],
  messages: ['already exists', 'already attached'],
};

/** Every failure (the empty fragment is part of every message): for best-effort steps. */
export const ANY_FAILURE: Tolerance = { hresults: [], messages: [''] };

export const hex = (hr: number): string => `0x${hr.toString(16).padStart(8, '0')}`;
