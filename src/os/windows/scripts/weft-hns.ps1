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
# Hcn* functions of computenetwork.dll (HCN, schema v2), declared in
# weft-hns.cs beside this file. hns.psm1 is not needed.
# This file is ASCII only: Windows PowerShell 5.1 reads a BOM-less script as ANSI.

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

# The native half (weft-hns.cs): the assembly install.ps1 compiled from it
# (weft-hns-compile.ps1) when its hash matches this weft-hns.cs, else the
# source compiled here, which costs seconds (csc.exe on Windows PowerShell
# 5.1). Compiler warnings never fail it. Returns which of the two it was.
function Import-WeftNative {
    $source = [System.IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'weft-hns.cs'))
    $digest = [System.Security.Cryptography.SHA256]::Create().ComputeHash($source)
    $hash = [System.BitConverter]::ToString($digest, 0, 8).Replace('-', '').ToLowerInvariant()
    $assembly = Join-Path $PSScriptRoot ('weft-hns-' + $hash + '.dll')
    if ([System.IO.File]::Exists($assembly)) {
        try {
            Add-Type -Path $assembly
            return 'precompiled'
        }
        catch {
            # unreadable or not an assembly: compile instead
        }
    }
    Add-Type -TypeDefinition ([System.Text.Encoding]::ASCII.GetString($source)) -Language CSharp -IgnoreWarnings
    return 'compiled'
}

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
    # After PSCustomObject: a PSObject is IFormattable too.
    if ($Value -is [System.IFormattable]) {
        return $Value.ToString($null, [System.Globalization.CultureInfo]::InvariantCulture)
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
        'has' {
            $path = @($arguments[1])
            $wanted = Get-WeftOperand $arguments[2]
            # Assigned first: the operand comes back as one pipeline object, the list.
            $list = Get-WeftOperand $arguments[0]
            foreach ($item in $list) {
                $value = $item
                foreach ($key in $path) {
                    $value = Get-WeftMember $value $key
                }
                if (Test-WeftEqual $value $wanted $ignoreCase) {
                    return $true
                }
            }
            return $false
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
    return @{ Failed = $true; Hr = $Call.Hr; Message = $Call.Message; Record = $Call.Record; Created = $Call.Created }
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
                # An error envelope: its text is localized; an ErrorCode, when
                # HNS gives one, is what tells failures apart.
                $message = 'HNS failed'
                $hr = $null
                if ($null -ne $envelope) {
                    $message = [string]$envelope.Error
                    if ($null -ne $envelope.ErrorCode) {
                        $hr = [uint32]([int64]$envelope.ErrorCode -band [int64]4294967295)
                    }
                }
                return @{ Failed = $true; Hr = $hr; Message = $message; Record = $call.Output }
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
        'hcn.enumerate' {
            $call = [Weft.Hns]::Enumerate([string]$Step.kind, (Expand-WeftJson $Step.query))
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
    if ($Tolerate.any -eq $true) {
        return $true
    }
    if ($null -ne $Outcome.Hr) {
        foreach ($hr in @($Tolerate.hresults)) {
            if ([double]$Outcome.Hr -eq [double]$hr) {
                return $true
            }
        }
        return $false
    }
    # No HRESULT (an error envelope without ErrorCode): text is all there is.
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

# Is the step's output what its retry waits for? Its own output is visible
# to the condition under its id.
function Test-WeftReady {
    param([object] $Step, [hashtable] $Outcome)
    if ($Outcome.Failed) {
        return $true
    }
    if ($null -eq $Outcome.Value) {
        return $false
    }
    if ($null -eq $Step.retry.until) {
        return $true
    }
    $id = [string]$Step.id
    $saved = $script:outputs[$id]
    $script:outputs[$id] = $Outcome.Value
    try {
        return (Test-WeftCond $Step.retry.until)
    }
    finally {
        $script:outputs[$id] = $saved
    }
}

# One step: the op, its select, its retries while nothing (or nothing ready)
# is found, and its tolerated failures.
function Invoke-WeftStep {
    param([object] $Step, [System.Collections.ArrayList] $Tolerated)
    $outcome = Invoke-WeftAttempt $Step
    $delays = @()
    $within = [double]::MaxValue
    if ($null -ne $Step.retry) {
        $delays = @($Step.retry.delaysMs)
        if ($null -ne $Step.retry.withinMs) {
            $within = [double]$Step.retry.withinMs
        }
    }
    $attempt = 0
    while (-not (Test-WeftReady $Step $outcome) -and $attempt -lt $delays.Count -and $script:clock.Elapsed.TotalMilliseconds -lt $within) {
        Start-Sleep -Milliseconds ([int]$delays[$attempt])
        $attempt++
        $outcome = Invoke-WeftAttempt $Step
    }
    if ($outcome.Failed -and (Test-WeftTolerated $outcome $Step.tolerate)) {
        $null = $Tolerated.Add((Get-WeftFailureReport $Step.id $outcome))
        $value = $null
        if ($Step.tolerate.keep -eq $true) {
            $value = [ordered]@{ failed = $true; hr = $outcome.Hr; message = $outcome.Message; record = $outcome.Record }
        }
        $outcome = @{ Failed = $false; Value = $value }
    }
    return $outcome
}

$script:clock = [System.Diagnostics.Stopwatch]::StartNew()
$answer = [ordered]@{
    ok = $true
    native = $null
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
    $answer.native = Import-WeftNative
    foreach ($step in @($request.steps)) {
        $stepId = [string]$step.id
        if ($null -ne $step.when -and -not (Test-WeftCond $step.when)) {
            $script:outputs[$stepId] = $null
            continue
        }
        $outcome = Invoke-WeftStep $step $answer.tolerated
        if ($outcome.Failed) {
            # HNS made the object although the call failed: undo it too.
            if ($outcome.Created -eq $true -and $null -ne $step.undo) {
                $null = $undoSteps.Add($step.undo)
            }
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
        foreach ($undo in @($undoSteps[$i])) {
            if ($null -ne $undo.when -and -not (Test-WeftCond $undo.when)) {
                continue
            }
            $ignored = [System.Collections.ArrayList]::new()
            $outcome = Invoke-WeftStep $undo $ignored
            $script:outputs[[string]$undo.id] = $outcome.Value
            $report = Get-WeftFailureReport ([string]$undo.id) $outcome
            $report.ok = -not $outcome.Failed
            $null = $answer.undone.Add($report)
        }
    }
}

[Console]::Out.Write((ConvertTo-WeftJson $answer))
[Console]::Out.Write("`n")
exit 0
