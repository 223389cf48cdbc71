// weft-hns.cs: the native half of weft-hns.ps1, the P/Invoke declarations of
// the HNS functions in vmcompute.dll (HNSCall, the v1 JSON API) and
// computenetwork.dll (HCN, schema v2). C# 5, what Windows PowerShell 5.1's
// Add-Type compiles. install.ps1 compiles it once into weft-hns-<hash>.dll
// (weft-hns-compile.ps1); weft-hns.ps1 loads that assembly when its hash
// matches this file and compiles this file itself otherwise.
using System;
using System.ComponentModel;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;

namespace Weft
{
    public sealed class HnsCallResult
    {
        public bool Failed;
        public uint Hr;
        public string Output;
        public string Record;
        public string Message;
        // HNS made an object before the call failed (a failing follow-up
        // query): the plan's undo must still run.
        public bool Created;
    }

    public static class Hns
    {
        private const string HcnDll = "computenetwork.dll";

        [DllImport("vmcompute.dll", CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HNSCall(string method, string path, string request, out IntPtr response);

        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnEnumerateNetworks(string query, out IntPtr networks, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnEnumerateEndpoints(string query, out IntPtr endpoints, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnEnumerateNamespaces(string query, out IntPtr namespaces, out IntPtr errorRecord);

        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnOpenNetwork(ref Guid id, out IntPtr network, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnOpenEndpoint(ref Guid id, out IntPtr endpoint, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnOpenNamespace(ref Guid id, out IntPtr ns, out IntPtr errorRecord);

        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnQueryNetworkProperties(IntPtr network, string query, out IntPtr properties, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnQueryEndpointProperties(IntPtr endpoint, string query, out IntPtr properties, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnQueryNamespaceProperties(IntPtr ns, string query, out IntPtr properties, out IntPtr errorRecord);

        [DllImport(HcnDll, ExactSpelling = true)]
        private static extern int HcnCloseNetwork(IntPtr network);
        [DllImport(HcnDll, ExactSpelling = true)]
        private static extern int HcnCloseEndpoint(IntPtr endpoint);
        [DllImport(HcnDll, ExactSpelling = true)]
        private static extern int HcnCloseNamespace(IntPtr ns);

        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnCreateEndpoint(IntPtr network, ref Guid id, string settings, out IntPtr endpoint, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnDeleteEndpoint(ref Guid id, out IntPtr errorRecord);
        [DllImport(HcnDll, CharSet = CharSet.Unicode, ExactSpelling = true)]
        private static extern int HcnModifyNamespace(IntPtr ns, string settings, out IntPtr errorRecord);

        private static readonly Regex GuidPattern = new Regex("[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}");

        // Strings HNS hands out are CoTaskMem allocations the caller frees.
        private static string Take(IntPtr text)
        {
            if (text == IntPtr.Zero)
            {
                return null;
            }
            try
            {
                return Marshal.PtrToStringUni(text);
            }
            finally
            {
                Marshal.FreeCoTaskMem(text);
            }
        }

        // Like hcsshim: a failing HRESULT, or any error record, is a failure.
        private static HnsCallResult Result(string call, int hr, string output, string record)
        {
            HnsCallResult result = new HnsCallResult();
            result.Hr = unchecked((uint)hr);
            result.Output = output;
            result.Record = record;
            result.Failed = hr < 0 || !string.IsNullOrEmpty(record);
            if (result.Failed)
            {
                int code = hr;
                if ((hr & 0x1fff0000) == 0x00070000)
                {
                    code = hr & 0xffff;
                }
                string text = hr < 0 ? new Win32Exception(code).Message : "failed";
                result.Message = call + ": " + text;
            }
            return result;
        }

        public static HnsCallResult Call(string method, string path, string request)
        {
            IntPtr response;
            int hr = HNSCall(method, path, request, out response);
            string text = Take(response);
            string call = "HNSCall " + method + " " + path;
            // With a failing HRESULT the response, if any, is HNS's account of it.
            return hr < 0 ? Result(call, hr, null, text) : Result(call, hr, text, null);
        }

        private static int EnumerateIds(string kind, string query, out IntPtr ids, out IntPtr record)
        {
            switch (kind)
            {
                case "Network":
                    return HcnEnumerateNetworks(query, out ids, out record);
                case "Endpoint":
                    return HcnEnumerateEndpoints(query, out ids, out record);
                case "Namespace":
                    return HcnEnumerateNamespaces(query, out ids, out record);
            }
            throw new ArgumentException("unknown HCN object kind " + kind);
        }

        private static int Open(string kind, ref Guid id, out IntPtr handle, out IntPtr record)
        {
            switch (kind)
            {
                case "Network":
                    return HcnOpenNetwork(ref id, out handle, out record);
                case "Endpoint":
                    return HcnOpenEndpoint(ref id, out handle, out record);
                case "Namespace":
                    return HcnOpenNamespace(ref id, out handle, out record);
            }
            throw new ArgumentException("unknown HCN object kind " + kind);
        }

        private static int QueryProperties(string kind, IntPtr handle, string query, out IntPtr properties, out IntPtr record)
        {
            switch (kind)
            {
                case "Network":
                    return HcnQueryNetworkProperties(handle, query, out properties, out record);
                case "Endpoint":
                    return HcnQueryEndpointProperties(handle, query, out properties, out record);
                case "Namespace":
                    return HcnQueryNamespaceProperties(handle, query, out properties, out record);
            }
            throw new ArgumentException("unknown HCN object kind " + kind);
        }

        private static void Close(string kind, IntPtr handle)
        {
            switch (kind)
            {
                case "Network":
                    HcnCloseNetwork(handle);
                    break;
                case "Endpoint":
                    HcnCloseEndpoint(handle);
                    break;
                case "Namespace":
                    HcnCloseNamespace(handle);
                    break;
            }
        }

        // Open an HCN object by ID: null when it is open, else the failure.
        private static HnsCallResult TryOpen(string kind, string id, out IntPtr handle)
        {
            Guid guid = new Guid(id);
            IntPtr record;
            int hr = Open(kind, ref guid, out handle, out record);
            string openRecord = Take(record);
            if (hr < 0 || !string.IsNullOrEmpty(openRecord))
            {
                return Result("HcnOpen" + kind, hr, null, openRecord);
            }
            return null;
        }

        public static HnsCallResult Get(string kind, string id, string query)
        {
            IntPtr handle;
            HnsCallResult failed = TryOpen(kind, id, out handle);
            if (failed != null)
            {
                return failed;
            }
            try
            {
                IntPtr properties;
                IntPtr record;
                int hr = QueryProperties(kind, handle, query, out properties, out record);
                string output = Take(properties);
                return Result("HcnQuery" + kind + "Properties", hr, output, Take(record));
            }
            finally
            {
                Close(kind, handle);
            }
        }

        // HcnEnumerate* alone: the JSON list of IDs HNS answers.
        public static HnsCallResult Enumerate(string kind, string query)
        {
            IntPtr ids;
            IntPtr record;
            int hr = EnumerateIds(kind, query, out ids, out record);
            string idList = Take(ids);
            return Result("HcnEnumerate" + kind + "s", hr, hr < 0 ? null : idList, Take(record));
        }

        // HcnEnumerate* gives IDs only; like hcsshim, open and query each one.
        public static HnsCallResult List(string kind, string query)
        {
            HnsCallResult listed = Enumerate(kind, query);
            if (listed.Failed)
            {
                return listed;
            }
            string idList = listed.Output;
            StringBuilder items = new StringBuilder("[");
            if (idList != null)
            {
                foreach (Match match in GuidPattern.Matches(idList))
                {
                    HnsCallResult item = Get(kind, match.Value, query);
                    if (item.Failed)
                    {
                        return item;
                    }
                    if (items.Length > 1)
                    {
                        items.Append(',');
                    }
                    items.Append(item.Output);
                }
            }
            items.Append(']');
            return Result("HcnEnumerate" + kind + "s", 0, items.ToString(), null);
        }

        public static HnsCallResult CreateEndpoint(string networkId, string settings, string query)
        {
            IntPtr networkHandle;
            HnsCallResult failed = TryOpen("Network", networkId, out networkHandle);
            if (failed != null)
            {
                return failed;
            }
            try
            {
                // An empty ID lets HCN choose one, as hcsshim does.
                Guid id = Guid.Empty;
                IntPtr endpoint;
                IntPtr record;
                int hr = HcnCreateEndpoint(networkHandle, ref id, settings, out endpoint, out record);
                string createRecord = Take(record);
                if (hr < 0 || !string.IsNullOrEmpty(createRecord))
                {
                    return Result("HcnCreateEndpoint", hr, null, createRecord);
                }
                try
                {
                    IntPtr properties;
                    hr = HcnQueryEndpointProperties(endpoint, query, out properties, out record);
                    string output = Take(properties);
                    HnsCallResult result = Result("HcnQueryEndpointProperties", hr, output, Take(record));
                    result.Created = true;
                    return result;
                }
                finally
                {
                    HcnCloseEndpoint(endpoint);
                }
            }
            finally
            {
                HcnCloseNetwork(networkHandle);
            }
        }

        public static HnsCallResult DeleteEndpoint(string id)
        {
            Guid guid = new Guid(id);
            IntPtr record;
            int hr = HcnDeleteEndpoint(ref guid, out record);
            return Result("HcnDeleteEndpoint", hr, null, Take(record));
        }

        public static HnsCallResult ModifyNamespace(string id, string settings)
        {
            IntPtr handle;
            HnsCallResult failed = TryOpen("Namespace", id, out handle);
            if (failed != null)
            {
                return failed;
            }
            try
            {
                IntPtr record;
                int hr = HcnModifyNamespace(handle, settings, out record);
                return Result("HcnModifyNamespace", hr, null, Take(record));
            }
            finally
            {
                HcnCloseNamespace(handle);
            }
        }
    }
}
