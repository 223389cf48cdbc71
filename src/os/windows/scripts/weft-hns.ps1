# weft-hns.ps1: weft's one PowerShell program. It talks to the Host Networking
# Service for win-bridge and win-overlay.
#
# weft runs it once per CNI command, always with the same command line:
#   powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File weft-hns.ps1
# The request (a "plan": an ordered list of HNS operations) arrives as JSON in
# the environment variable WEFT_HNS_REQUEST, and the answer is one JSON document
# on standard output. The request is only ever read as data: it is parsed by
# ConvertFrom-Json and walked by the functions below; no part of it is run as
# code, used as a command name, or compiled. The plan language is documented in
# src/os/windows/plan-language.ts.
#
# HNS is reached directly: HNSCall in vmcompute.dll (the v1 JSON API) and the
# Hcn* functions of computenetwork.dll (HCN, schema v2). hns.psm1 is not needed.
# This file is ASCII only: Windows PowerShell 5.1 reads a BOM-less script as ANSI.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

$nativeSource = @'
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
            return Result("HNSCall " + method + " " + path, hr, Take(response), null);
        }

        private static int Enumerate(string kind, string query, out IntPtr ids, out IntPtr record)
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

        // HcnEnumerate* gives IDs only; like hcsshim, open and query each one.
        public static HnsCallResult List(string kind, string query)
        {
            IntPtr ids;
            IntPtr record;
            int hr = Enumerate(kind, query, out ids, out record);
            string idList = Take(ids);
            string enumerateRecord = Take(record);
            if (hr < 0 || !string.IsNullOrEmpty(enumerateRecord))
            {
                return Result("HcnEnumerate" + kind + "s", hr, null, enumerateRecord);
            }
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
                    return Result("HcnQueryEndpointProperties", hr, output, Take(record));
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
'@

$script:outputs = @{}

# A property (matched ignoring case, as Go decodes HNS JSON) or list element.
function Get-WeftMember {
    param([object] $Object, [object] $Key)
    if ($null -eq $Object) {
        return $null
    }
    if ($Key -is [string]) {
        if ($Object -is [System.Management.Automation.PSCustomObject]) {
            foreach ($property in $Object.PSObject.Properties) {
                if ($property.Name -eq $Key) {
                    return ,($property.Value)
                }
            }
        }
        return $null
    }
    $index = [int]$Key
    if ($Object -is [System.Collections.IList] -and $index -ge 0 -and $index -lt $Object.Count) {
        return ,($Object[$index])
    }
    return $null
}

function Resolve-WeftPath {
    param([object[]] $Path)
    $value = $script:outputs[[string]$Path[0]]
    for ($i = 1; $i -lt $Path.Count; $i++) {
        $value = Get-WeftMember $value $Path[$i]
    }
    return ,$value
}

function Resolve-WeftRef {
    param([object] $Node)
    $value = Resolve-WeftPath $Node.path
    if ($null -eq $value -and $null -ne $Node.orPath) {
        $value = Resolve-WeftPath $Node.orPath
    }
    return ,$value
}

# A JSON string literal, ASCII only, so the console code page cannot mangle it.
function ConvertTo-WeftJsonString {
    param([string] $Text)
    $quoted = [System.Text.StringBuilder]::new($Text.Length + 2)
    $null = $quoted.Append('"')
    foreach ($c in $Text.ToCharArray()) {
        $code = [int]$c
        if ($code -eq 34 -or $code -eq 92) {
            $null = $quoted.Append('\').Append($c)
        }
        elseif ($code -lt 32 -or $code -gt 126) {
            $null = $quoted.Append('\u').Append($code.ToString('x4'))
        }
        else {
            $null = $quoted.Append($c)
        }
    }
    $null = $quoted.Append('"')
    return $quoted.ToString()
}

function ConvertTo-WeftJson {
    param([object] $Value)
    if ($null -eq $Value) {
        return 'null'
    }
    if ($Value -is [bool]) {
        if ($Value) {
            return 'true'
        }
        return 'false'
    }
    if ($Value -is [string] -or $Value -is [char] -or $Value -is [guid]) {
        return ConvertTo-WeftJsonString ([string]$Value)
    }
    if ($Value -is [datetime]) {
        return ConvertTo-WeftJsonString ($Value.ToString('o', [System.Globalization.CultureInfo]::InvariantCulture))
    }
    if ($Value -is [System.IFormattable]) {
        return $Value.ToString($null, [System.Globalization.CultureInfo]::InvariantCulture)
    }
    if ($Value -is [System.Collections.IDictionary]) {
        $members = @()
        foreach ($key in $Value.Keys) {
            $members += (ConvertTo-WeftJsonString ([string]$key)) + ':' + (ConvertTo-WeftJson $Value[$key])
        }
        return '{' + ($members -join ',') + '}'
    }
    if ($Value -is [System.Management.Automation.PSCustomObject]) {
        $members = @()
        foreach ($property in $Value.PSObject.Properties) {
            $members += (ConvertTo-WeftJsonString $property.Name) + ':' + (ConvertTo-WeftJson $property.Value)
        }
        return '{' + ($members -join ',') + '}'
    }
    if ($Value -is [System.Collections.IEnumerable]) {
        $items = @()
        foreach ($item in $Value) {
            $items += ConvertTo-WeftJson $item
        }
        return '[' + ($items -join ',') + ']'
    }
    return ConvertTo-WeftJsonString ([string]$Value)
}

function Expand-WeftText {
    param([object] $Parts)
    $text = [System.Text.StringBuilder]::new()
    foreach ($part in @($Parts)) {
        if ($part -is [string]) {
            $null = $text.Append($part)
        }
        else {
            $value = Resolve-WeftRef $part
            if ($null -ne $value) {
                $null = $text.Append([string]$value)
            }
        }
    }
    return $text.ToString()
}

function Expand-WeftJson {
    param([object] $Node)
    switch ([string]$Node.kind) {
        'raw' {
            return [string]$Node.text
        }
        'ref' {
            return ConvertTo-WeftJson (Resolve-WeftRef $Node)
        }
        'concat' {
            $text = ''
            foreach ($part in @($Node.parts)) {
                $text += Expand-WeftJson $part
            }
            return $text
        }
        'list' {
            $items = @()
            foreach ($item in @($Node.items)) {
                if ($null -eq $item.when -or (Test-WeftCond $item.when)) {
                    $items += Expand-WeftJson $item
                }
            }
            return '[' + ($items -join ',') + ']'
        }
    }
    throw ('unknown JSON node kind ' + [string]$Node.kind)
}

function Get-WeftOperand {
    param([object] $Operand)
    if ($Operand -is [System.Management.Automation.PSCustomObject]) {
        return ,(Resolve-WeftRef $Operand)
    }
    return ,$Operand
}

function Test-WeftEqual {
    param([object] $Left, [object] $Right, [bool] $IgnoreCase)
    if ($null -eq $Left -or $null -eq $Right) {
        return ($null -eq $Left -and $null -eq $Right)
    }
    if ($IgnoreCase) {
        return ([string]$Left -ieq [string]$Right)
    }
    return ([string]$Left -ceq [string]$Right)
}

function Test-WeftCond {
    param([object] $Cond)
    $ignoreCase = ($Cond.ci -eq $true)
    $arguments = @($Cond.args)
    switch ([string]$Cond.kind) {
        'eq' {
            return (Test-WeftEqual (Get-WeftOperand $arguments[0]) (Get-WeftOperand $arguments[1]) $ignoreCase)
        }
        'in' {
            $needle = Get-WeftOperand $arguments[0]
            foreach ($candidate in @($arguments[1])) {
                if (Test-WeftEqual $needle (Get-WeftOperand $candidate) $ignoreCase) {
                    return $true
                }
            }
            return $false
        }
        'ge' {
            $left = Get-WeftOperand $arguments[0]
            $right = Get-WeftOperand $arguments[1]
            if ($null -eq $left -or $null -eq $right) {
                return $false
            }
            return ([double]$left -ge [double]$right)
        }
        'exists' {
            $value = Get-WeftOperand $arguments[0]
            if ($null -eq $value) {
                return $false
            }
            if ($value -is [string]) {
                return ($value.Length -gt 0)
            }
            if ($value -is [System.Collections.IList]) {
                return ($value.Count -gt 0)
            }
            return $true
        }
        'not' {
            return (-not (Test-WeftCond $arguments[0]))
        }
        'and' {
            foreach ($inner in $arguments) {
                if (-not (Test-WeftCond $inner)) {
                    return $false
                }
            }
            return $true
        }
        'or' {
            foreach ($inner in $arguments) {
                if (Test-WeftCond $inner) {
                    return $true
                }
            }
            return $false
        }
    }
    throw ('unknown condition kind ' + [string]$Cond.kind)
}

function New-WeftFailure {
    param([object] $Call)
    return @{ Failed = $true; Hr = $Call.Hr; Message = $Call.Message; Record = $Call.Record }
}

# JSON text from HNS, parsed; wrapped so that Windows PowerShell 5.1 and 7
# read a top-level list the same way.
function ConvertFrom-WeftJson {
    param([string] $Text)
    if ([string]::IsNullOrEmpty($Text)) {
        return $null
    }
    $wrapped = ConvertFrom-Json -InputObject ('{"Value":' + $Text + '}')
    return ,($wrapped.Value)
}

function Invoke-WeftOp {
    param([object] $Step)
    switch ([string]$Step.op) {
        'hns' {
            $body = ''
            if ($null -ne $Step.body) {
                $body = Expand-WeftJson $Step.body
            }
            $call = [Weft.Hns]::Call([string]$Step.method, (Expand-WeftText $Step.path), $body)
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            $envelope = ConvertFrom-WeftJson $call.Output
            if ($null -eq $envelope -or $envelope.Success -ne $true) {
                $message = 'HNS failed'
                if ($null -ne $envelope) {
                    $message = [string]$envelope.Error
                }
                return @{ Failed = $true; Hr = $null; Message = $message; Record = $call.Output }
            }
            return @{ Failed = $false; Value = $envelope.Output }
        }
        'hcn.list' {
            $call = [Weft.Hns]::List([string]$Step.kind, (Expand-WeftJson $Step.query))
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            return @{ Failed = $false; Value = (ConvertFrom-WeftJson $call.Output) }
        }
        'hcn.get' {
            $call = [Weft.Hns]::Get([string]$Step.kind, (Expand-WeftText $Step.target), (Expand-WeftJson $Step.query))
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            return @{ Failed = $false; Value = (ConvertFrom-WeftJson $call.Output) }
        }
        'hcn.createEndpoint' {
            $call = [Weft.Hns]::CreateEndpoint((Expand-WeftText $Step.network), (Expand-WeftJson $Step.settings), (Expand-WeftJson $Step.query))
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            return @{ Failed = $false; Value = (ConvertFrom-WeftJson $call.Output) }
        }
        'hcn.deleteEndpoint' {
            $call = [Weft.Hns]::DeleteEndpoint((Expand-WeftText $Step.target))
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            return @{ Failed = $false; Value = $null }
        }
        'hcn.modifyNamespace' {
            $call = [Weft.Hns]::ModifyNamespace((Expand-WeftText $Step.target), (Expand-WeftJson $Step.settings))
            if ($call.Failed) {
                return (New-WeftFailure $call)
            }
            return @{ Failed = $false; Value = $null }
        }
        'test' {
            return @{ Failed = $false; Value = (Test-WeftCond $Step.cond) }
        }
    }
    return @{ Failed = $true; Hr = $null; Message = ('unknown op ' + [string]$Step.op); Record = $null }
}

function Select-WeftItem {
    param([object] $Items, [object] $Select)
    $wanted = Expand-WeftText $Select.match
    foreach ($item in @($Items)) {
        if ([string](Get-WeftMember $item ([string]$Select.key)) -ceq $wanted) {
            return ,$item
        }
    }
    return $null
}

function Invoke-WeftAttempt {
    param([object] $Step)
    try {
        $outcome = Invoke-WeftOp $Step
    }
    catch {
        $outcome = @{ Failed = $true; Hr = $null; Message = $_.Exception.Message; Record = $null }
    }
    if (-not $outcome.Failed -and $null -ne $Step.select) {
        $outcome.Value = Select-WeftItem $outcome.Value $Step.select
    }
    return $outcome
}

function Test-WeftTolerated {
    param([hashtable] $Outcome, [object] $Tolerate)
    if ($null -eq $Tolerate) {
        return $false
    }
    foreach ($hr in @($Tolerate.hresults)) {
        if ($null -ne $Outcome.Hr -and [double]$Outcome.Hr -eq [double]$hr) {
            return $true
        }
    }
    $text = [string]$Outcome.Message + ' ' + [string]$Outcome.Record
    foreach ($fragment in @($Tolerate.messages)) {
        if ($text.IndexOf([string]$fragment, [System.StringComparison]::OrdinalIgnoreCase) -ge 0) {
            return $true
        }
    }
    return $false
}

function Get-WeftFailureReport {
    param([object] $StepId, [hashtable] $Outcome)
    return [ordered]@{ step = $StepId; hr = $Outcome.Hr; message = $Outcome.Message; record = $Outcome.Record }
}

# One step: the op, its select, its retries while nothing is found, and its
# tolerated failures.
function Invoke-WeftStep {
    param([object] $Step, [System.Collections.ArrayList] $Tolerated)
    $outcome = Invoke-WeftAttempt $Step
    $delays = @()
    if ($null -ne $Step.retry) {
        $delays = @($Step.retry.delaysMs)
    }
    $attempt = 0
    while (-not $outcome.Failed -and $null -eq $outcome.Value -and $attempt -lt $delays.Count) {
        Start-Sleep -Milliseconds ([int]$delays[$attempt])
        $attempt++
        $outcome = Invoke-WeftAttempt $Step
    }
    if ($outcome.Failed -and (Test-WeftTolerated $outcome $Step.tolerate)) {
        $null = $Tolerated.Add((Get-WeftFailureReport $Step.id $outcome))
        $outcome = @{ Failed = $false; Value = $null }
    }
    return $outcome
}

$answer = [ordered]@{
    ok = $true
    outputs = $script:outputs
    ran = [System.Collections.ArrayList]::new()
    stopped = $null
    error = $null
    tolerated = [System.Collections.ArrayList]::new()
    undone = [System.Collections.ArrayList]::new()
}
$undoSteps = [System.Collections.ArrayList]::new()

try {
    $request = ConvertFrom-Json -InputObject ([string]$env:WEFT_HNS_REQUEST)
    if ($request.plan -ne 'weft-hns/1') {
        throw 'WEFT_HNS_REQUEST does not hold a weft-hns/1 plan'
    }
    Add-Type -TypeDefinition $nativeSource -Language CSharp
    foreach ($step in @($request.steps)) {
        $stepId = [string]$step.id
        if ($null -ne $step.when -and -not (Test-WeftCond $step.when)) {
            $script:outputs[$stepId] = $null
            continue
        }
        $outcome = Invoke-WeftStep $step $answer.tolerated
        if ($outcome.Failed) {
            $answer.ok = $false
            $answer.error = Get-WeftFailureReport $stepId $outcome
            break
        }
        $script:outputs[$stepId] = $outcome.Value
        $null = $answer.ran.Add($stepId)
        if ($null -ne $step.undo) {
            $null = $undoSteps.Add($step.undo)
        }
        $stop = ($null -eq $outcome.Value) -or ($outcome.Value -is [bool] -and -not $outcome.Value)
        if ($step.require -eq $true -and $stop) {
            $answer.ok = $false
            $answer.stopped = $stepId
            break
        }
    }
}
catch {
    $answer.ok = $false
    $answer.error = [ordered]@{ step = $null; hr = $null; message = ('weft-hns: ' + $_.Exception.Message); record = $null }
}

if (-not $answer.ok) {
    for ($i = $undoSteps.Count - 1; $i -ge 0; $i--) {
        $undo = $undoSteps[$i]
        $ignored = [System.Collections.ArrayList]::new()
        $outcome = Invoke-WeftStep $undo $ignored
        $report = Get-WeftFailureReport ([string]$undo.id) $outcome
        $report.ok = -not $outcome.Failed
        $null = $answer.undone.Add($report)
    }
}

[Console]::Out.Write((ConvertTo-WeftJson $answer))
[Console]::Out.Write("`n")
exit 0
