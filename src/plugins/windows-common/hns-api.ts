import { ANY_FAILURE, ANY_FAILURE_KEPT, NOT_FOUND } from '../../os/windows/hresult.ts';
import {
  type JsonNode,
  type PathElem,
  type RefNode,
  type Retry,
  type Step,
  type StepOp,
  type Tolerance,
  exists,
  fromOutput,
  jsonNode,
  not,
  ref,
  refOr,
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
    /** In a namespace: its list of resources, and where an endpoint resource has the endpoint's ID. */
    namespaceResources: PathElem[];
    resourceEndpointId: PathElem[];
  };
  /** Required: a plan without its network stops. */
  findNetwork(id: string, name: string, retry?: Retry): Step;
  findEndpoint(id: string, name: string, retry?: Retry): Step;
  getEndpoint(id: string, endpointId: RefNode): Step;
  /** Create named `name` (its undo deletes it again). */
  createEndpoint(id: string, networkId: RefNode, body: unknown, name: string): Step;
  deleteEndpoint(id: string, endpointId: RefNode, tolerate: Tolerance): Step;
  /** Any failure is kept as the output: the plan then asks the namespace. */
  attach(id: string, namespace: string, endpointId: RefNode): Step;
  /** Best effort: a failed detach never fails the command. */
  detach(id: string, namespace: string | RefNode, endpointId: RefNode): Step;
  /** A failure to read it is kept as the output. */
  getNamespace(id: string, namespace: string): Step;
  /** Every namespace (HCN in both dialects: the v1 API has no listing): only to say which holds an endpoint. */
  listNamespaces(id: string): Step;
}

/** hcn.HostComputeQuery at schema 2.0, optionally filtered. */
function hcnQuery(filter?: Record<string, string>): JsonNode {
  const query: Record<string, unknown> = { SchemaVersion: { Major: 2, Minor: 0 } };
  if (filter) query.Filter = JSON.stringify(filter);
  return jsonNode(query);
}

/** A lookup by name: list, keep the item called `name`, retrying as `retry` says. */
function byName(id: string, list: StepOp, name: string, retry?: Retry): Step {
  const step: Step = { id, ...list, select: { key: 'Name', match: text(name) } };
  return retry?.delaysMs.length ? { ...step, retry } : step;
}

const required = (step: Step): Step => ({ ...step, require: true });

const listNamespacesStep = (id: string): Step => ({ id, op: 'hcn.list', kind: 'Namespace', query: hcnQuery(), tolerate: ANY_FAILURE });

/**
 * The GUIDs of every HNS namespace, one HCN call whatever the dialect (the
 * v1 API has no listing); a failure is tolerated (output null).
 */
export const namespaceIdsStep = (id: string): Step => ({ id, op: 'hcn.enumerate', kind: 'Namespace', query: hcnQuery(), tolerate: ANY_FAILURE });

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
    namespaceResources: ['ResourceList'],
    resourceEndpointId: ['Data', 'Id'],
  },
  findNetwork: (id, name, retry) => required(byName(id, { op: 'hns', method: 'GET', path: text('/networks/') }, name, retry)),
  findEndpoint: (id, name, retry) => byName(id, { op: 'hns', method: 'GET', path: text('/endpoints/') }, name, retry),
  getEndpoint: (id, endpointId) => ({ id, op: 'hns', method: 'GET', path: text('/endpoints/', endpointId), tolerate: ANY_FAILURE }),
  // POST answers with the endpoint: nothing can fail between its creation and the ID.
  createEndpoint: (id, _networkId, body) => ({
    id,
    op: 'hns',
    method: 'POST',
    path: text('/endpoints/'),
    body: jsonNode(body),
    undo: [hnsV1.deleteEndpoint(`${id}.undo`, ref(id, 'ID'), NOT_FOUND)],
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
    tolerate: ANY_FAILURE_KEPT,
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
    tolerate: ANY_FAILURE_KEPT,
  }),
  listNamespaces: listNamespacesStep,
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
    namespaceResources: ['Resources'],
    resourceEndpointId: ['Data', 'ID'],
  },
  findNetwork: (id, name, retry) => required(byName(id, { op: 'hcn.list', kind: 'Network', query: hcnQuery({ Name: name }) }, name, retry)),
  findEndpoint: (id, name, retry) => byName(id, { op: 'hcn.list', kind: 'Endpoint', query: hcnQuery({ Name: name }) }, name, retry),
  getEndpoint: (id, endpointId) => ({ id, op: 'hcn.get', kind: 'Endpoint', target: text(endpointId), query: hcnQuery(), tolerate: ANY_FAILURE }),
  // HCN picks the ID; when the query after the create fails, the undo finds the endpoint by name.
  createEndpoint: (id, networkId, body, name) => {
    const created = refOr(ref(id, 'ID'), ref(`${id}.find`, 'ID'));
    return {
      id,
      op: 'hcn.createEndpoint',
      network: text(networkId),
      settings: jsonNode(body),
      query: hcnQuery(),
      undo: [
        { ...hcnV2.findEndpoint(`${id}.find`, name), when: not(exists(ref(id, 'ID'))) },
        { ...hcnV2.deleteEndpoint(`${id}.undo`, created, NOT_FOUND), when: exists(created) },
      ],
    };
  },
  deleteEndpoint: (id, endpointId, tolerate) => ({ id, op: 'hcn.deleteEndpoint', target: text(endpointId), tolerate }),
  attach: (id, namespace, endpointId) => ({
    id,
    op: 'hcn.modifyNamespace',
    target: text(namespace),
    settings: namespaceChange('Add', endpointId),
    tolerate: ANY_FAILURE_KEPT,
  }),
  detach: (id, namespace, endpointId) => ({
    id,
    op: 'hcn.modifyNamespace',
    target: text(namespace),
    settings: namespaceChange('Remove', endpointId),
    tolerate: ANY_FAILURE,
  }),
  getNamespace: (id, namespace) => ({ id, op: 'hcn.get', kind: 'Namespace', target: text(namespace), query: hcnQuery(), tolerate: ANY_FAILURE_KEPT }),
  listNamespaces: listNamespacesStep,
};

export const hnsApi = (version: ApiVersion): HnsApi => (version === 2 ? hcnV2 : hnsV1);
