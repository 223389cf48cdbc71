<#
.SYNOPSIS
  Installs weft's CNI executables on a Windows node and, if asked, its
  network configuration.

.DESCRIPTION
  Copies flannel.exe once into the CNI binary folder and makes host-local,
  win-bridge, win-overlay and cnitool hard links of it: weft then recognises
  a delegate on CNI_PATH as itself and runs it in the same process. Copies the
  PowerShell script the win-* plugins run beside them and compiles weft's
  code cache there. Writes
  10-flannel.conf only with -WriteConf, and never over an existing file
  unless -Force is given.

.EXAMPLE
  .\install.ps1
  .\install.ps1 -WriteConf vxlan
  .\install.ps1 -CniBinDir D:\cni\bin -WriteConf host-gw -Force
#>
[CmdletBinding()]
param(
  [string] $CniBinDir = 'C:\opt\cni\bin',
  [string] $CniConfDir = 'C:\etc\cni\net.d',
  [ValidateSet('none', 'vxlan', 'host-gw')]
  [string] $WriteConf = 'none',
  [switch] $Force
)

$ErrorActionPreference = 'Stop'
$here = Split-Path -Parent $MyInvocation.MyCommand.Path
$names = @('flannel', 'host-local', 'win-bridge', 'win-overlay', 'cnitool')

New-Item -ItemType Directory -Force -Path $CniBinDir | Out-Null

$primary = Join-Path $CniBinDir 'flannel.exe'
foreach ($name in $names) {
  $target = Join-Path $CniBinDir "$name.exe"
  if (Test-Path -LiteralPath $target) { Remove-Item -LiteralPath $target -Force }
}
Copy-Item -LiteralPath (Join-Path $here 'flannel.exe') -Destination $primary -Force
foreach ($name in ($names | Select-Object -Skip 1)) {
  New-Item -ItemType HardLink -Path (Join-Path $CniBinDir "$name.exe") -Target $primary | Out-Null
}

Get-ChildItem -LiteralPath $here -Filter '*.ps1' |
  Where-Object { $_.Name -ne 'install.ps1' } |
  ForEach-Object { Copy-Item -LiteralPath $_.FullName -Destination $CniBinDir -Force }

# Compile weft's JavaScript once on this node (a V8 code cache beside the
# executables); without it every start parses the bundle again.
& $primary --weft-build-code-cache | Out-Null
if ($LASTEXITCODE -ne 0) { Write-Warning 'no code cache written; weft starts a little slower' }

Write-Output "weft installed in $CniBinDir"

if ($WriteConf -ne 'none') {
  New-Item -ItemType Directory -Force -Path $CniConfDir | Out-Null
  $source = Join-Path (Join-Path $here 'conf') "10-flannel-$WriteConf.conf"
  $destination = Join-Path $CniConfDir '10-flannel.conf'
  if ((Test-Path -LiteralPath $destination) -and -not $Force) {
    throw "$destination exists; use -Force to replace it"
  }
  Copy-Item -LiteralPath $source -Destination $destination -Force
  Write-Output "wrote $destination (edit the service and cluster CIDRs for your cluster)"
}

# containerd takes the first configuration in name order: a file sorting
# before 10-flannel.conf (the default 0-containerd-nat.json, say) wins.
if (Test-Path -LiteralPath $CniConfDir) {
  $first = Get-ChildItem -LiteralPath $CniConfDir -File |
    Where-Object { $_.Extension -in '.conf', '.conflist', '.json' } |
    Sort-Object Name | Select-Object -First 1
  if ($first -and $first.Name -ne '10-flannel.conf') {
    Write-Warning "$($first.FullName) sorts before 10-flannel.conf and will be used instead; remove or rename it"
  }
}
