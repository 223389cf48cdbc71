# weft-hns-compile.ps1: compiles weft-hns.cs once, at install, into
# weft-hns-<hash>.dll beside it (hash: the first 16 hex digits of the SHA-256
# of weft-hns.cs). weft-hns.ps1 then loads that assembly instead of compiling
# the C# in every CNI command (on Windows PowerShell 5.1 that is csc.exe,
# seconds of CPU per pod). install.ps1 runs it; so do weft's tests.
#   powershell.exe -NoProfile -ExecutionPolicy Bypass -File weft-hns-compile.ps1 [-Destination <dir>]
# Prints the path of the assembly. Assemblies of other hashes (an older
# weft-hns.cs) are removed where no process holds them.
# This file is ASCII only: Windows PowerShell 5.1 reads a BOM-less script as ANSI.
param([string] $Destination = $PSScriptRoot)

$ErrorActionPreference = 'Stop'

$source = [System.IO.File]::ReadAllBytes((Join-Path $PSScriptRoot 'weft-hns.cs'))
$digest = [System.Security.Cryptography.SHA256]::Create().ComputeHash($source)
$hash = [System.BitConverter]::ToString($digest, 0, 8).Replace('-', '').ToLowerInvariant()
$assembly = Join-Path $Destination ('weft-hns-' + $hash + '.dll')

if (-not [System.IO.File]::Exists($assembly)) {
    # Written under another name and renamed, so that a CNI command never
    # loads a half-written assembly.
    $partial = Join-Path $Destination ('weft-hns-' + $hash + '.' + [System.Guid]::NewGuid().ToString('N') + '.partial')
    Add-Type -TypeDefinition ([System.Text.Encoding]::ASCII.GetString($source)) -Language CSharp -OutputAssembly $partial -OutputType Library -IgnoreWarnings
    [System.IO.File]::Move($partial, $assembly)
}

foreach ($old in [System.IO.Directory]::GetFiles($Destination, 'weft-hns-*.dll')) {
    if ($old -ne $assembly) {
        try {
            [System.IO.File]::Delete($old)
        }
        catch {
            # in use by a running CNI command: removed by the next install
        }
    }
}

[Console]::Out.WriteLine($assembly)
