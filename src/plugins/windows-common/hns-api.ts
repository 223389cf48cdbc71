import { ALREADY_ATTACHED, ANY_FAILURE, NOT_FOUND } from '../../os/windows/hresult.ts';
import {
  type JsonNode,
  type PathElem,
  type RefNode,
  type Step,
  type StepOp,
  type Tolerance,
  fromOutput,
  jsonNode,
  ref,
  text,
} from '../../os/windows/plan-language.ts';
import type { ApiVersion } from './conf.ts';

// The HNS operations the plugins use, as plan steps, in the two dialects:
// v1 (HNSCall JSON API, as hcsshim's internal/hns calls it) and HCN (schema
// 2.0, as hcsshim's hcn package calls computenetwork.dll). Both attach
// endpoints to the namespace containerd made: v1 through the namespaces
// routes, HCN through HcnModifyNamespace.

export interface HnsApi {
  readonly version: ApiVersion;
  /** Where, in the objects this dialect returns, the fields weft reads are. */
  readonly paths: {
    networkId: PathElem[];
    networkType: PathElem[];
    networkPrefix: PathElem[];
    endpointId: PathElem[];
    endpointNetwork: PathElem[];
    endpointIp: PathElem[];
    endpointNamespace: PathElem[];
  };
  findNetwork(id: string, name: string, retryDelaysMs: number[]): Step;
  findEndpoint(id: string, name: string): Step;
  /** Create (its undo deletes it again). */
  createEndpoint(id: string, networkId: RefNode, body: unknown): Step;
  deleteEndpoint(id: string, endpointId: RefNode, tolerate: Tolerance): Step;
  attach(id: string, namespace: string, endpointId: RefNode): Step;
  /** Best effort: a failed detach never fails the command. */
  detach(id: string, namespace: string | RefNode, endpointId: RefNode): Step;
  getNamespace(id: string, namespace: string): Step;
}

/** hcn.HostComputeQuery at schema 2.0, optionally filtered. */
function hcnQuery(filter?: Record<string, string>): JsonNode {
  const query: Record<string, unknown> = { SchemaVersion: { Major: 2, Minor: 0 } };
  if (filter) query.Filter = JSON.stringify(filter);
  return jsonNode(query);
}

/**
 * A lookup by name: list, keep the item called `name`; a network lookup
 * waits (retries while absent) and is required.
 */
function byName(id: string, list: StepOp, name: string, wait?: number[]): Step {
  const step: Step = { id, ...list, select: { key: 'Name', match: text(name) } };
  if (!wait) return step;
  return { ...step, ...(wait.length ? { retry: { delaysMs: wait } } : {}), require: true };
}

const v1Resource = (endpointId: RefNode): JsonNode => jsonNode({ Type: 'Endpoint', Data: { Id: fromOutput(endpointId) } });

export const hnsV1: HnsApi = {
  version: 1,
  paths: {
    networkId: ['ID'],
    networkType: ['Type'],
    networkPrefix: ['Subnets', 0, 'AddressPrefix'],
    endpointId: ['ID'],
    endpointNetwork: ['VirtualNetwork'],
    endpointIp: ['IPAddress'],
    endpointNamespace: ['Namespace', 'ID'],
  },
  findNetwork: (id, name, delaysMs) => byName(id, { op: 'hns', method: 'GET', path: text('/networks/') }, name, delaysMs),
  findEndpoint: (id, name) => byName(id, { op: 'hns', method: 'GET', path: text('/endpoints/') }, name),
  createEndpoint: (id, _networkId, body) => ({
    id,
    op: 'hns',
    method: 'POST',
    path: text('/endpoints/'),
    body: jsonNode(body),
    undo: hnsV1.deleteEndpoint(`${id}.undo`, ref(id, 'ID'), NOT_FOUND),
  }),
  deleteEndpoint: (id, endpointId, tolerate) => ({
    id,
    op: 'hns',
    method: 'DELETE',
    path: text('/endpoints/', endpointId),
    tolerate,
  }),
  attach: (id, namespace, endpointId) => ({
    id,
    op: 'hns',
    method: 'POST',
    path: text('/namespaces/', namespace, '/addresource'),
    body: v1Resource(endpointId),
    tolerate: ALREADY_ATTACHED,
  }),
  detach: (id, namespace, endpointId) => ({
    id,
    op: 'hns',
    method: 'POST',
    path: text('/namespaces/', namespace, '/removeresource'),
    body: v1Resource(endpointId),
    tolerate: ANY_FAILURE,
  }),
  getNamespace: (id, namespace) => ({
    id,
    op: 'hns',
    method: 'GET',
    path: text('/namespaces/', namespace),
    tolerate: NOT_FOUND,
  }),
};

const namespaceChange = (requestType: 'Add' | 'Remove', endpointId: RefNode): JsonNode =>
  jsonNode({ ResourceType: 'Endpoint', RequestType: requestType, Settings: { EndpointId: fromOutput(endpointId) } });

export const hcnV2: HnsApi = {
  version: 2,
  paths: {
    networkId: ['ID'],
    networkType: ['Type'],
    networkPrefix: ['Ipams', 0, 'Subnets', 0, 'IpAddressPrefix'],
    endpointId: ['ID'],
    endpointNetwork: ['HostComputeNetwork'],
    endpointIp: ['IpConfigurations', 0, 'IpAddress'],
    endpointNamespace: ['HostComputeNamespace'],
  },
  findNetwork: (id, name, delaysMs) => byName(id, { op: 'hcn.list', kind: 'Network', query: hcnQuery({ Name: name }) }, name, delaysMs),
  findEndpoint: (id, name) => byName(id, { op: 'hcn.list', kind: 'Endpoint', query: hcnQuery({ Name: name }) }, name),
  createEndpoint: (id, networkId, body) => ({
    id,
    op: 'hcn.createEndpoint',
    network: text(networkId),
    settings: jsonNode(body),
    query: hcnQuery(),
    undo: hcnV2.deleteEndpoint(`${id}.undo`, ref(id, 'ID'), NOT_FOUND),
  }),
  deleteEndpoint: (id, endpointId, tolerate) => ({ id, op: 'hcn.deleteEndpoint', target: text(endpointId), tolerate }),
  attach: (id, namespace, endpointId) => ({
    id,
    op: 'hcn.modifyNamespace',
    target: text(namespace),
    settings: namespaceChange('Add', endpointId),
    tolerate: ALREADY_ATTACHED,
  }),
  detach: (id, namespace, endpointId) => ({
    id,
    op: 'hcn.modifyNamespace',
    target: text(namespace),
    settings: namespaceChange('Remove', endpointId),
    tolerate: ANY_FAILURE,
  }),
  getNamespace: (id, namespace) => ({ id, op: 'hcn.get', kind: 'Namespace', target: text(namespace), query: hcnQuery(), tolerate: NOT_FOUND }),
};

export const hnsApi = (version: ApiVersion): HnsApi => (version === 2 ? hcnV2 : hnsV1);
