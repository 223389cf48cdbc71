#Requires -Version 5.1
#Requires -RunAsAdministrator
<#
.SYNOPSIS
  Installs or upgrades weft's CNI executables on a Windows node and, if
  asked, its network configuration.

.DESCRIPTION
  Gives weft.exe every plugin name in the CNI binary folder: flannel.exe
  once, and host-local, win-bridge, win-overlay and cnitool as hard links of
  it, so that weft recognises a delegate on CNI_PATH as itself and runs it in
  the same process. Safe on a live node: the new executable is written beside
  the old one first, then each name is swapped (the old file renamed aside,
  the new one renamed in), so a pod starting meanwhile finds the old plugin
  or the new one, never no plugin; an old executable still running is left
  aside and removed by a later run. The folders get an ACL that lets only
  SYSTEM and Administrators write. The PowerShell scripts the win-* plugins
  run are copied beside them and weft's code cache is compiled there.
  10-flannel.conf is written only with -WriteConf, and never over an
  existing file unless -Force is given.

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
$source = Join-Path $here 'weft.exe'
# Temporary names carry this run's stamp, so a concurrent or crashed run never
# takes another's file for its own.
$stamp = [DateTime]::UtcNow.ToString('yyyyMMddHHmmssfff') + "-$PID"

# --- Step: the folders, writable only by SYSTEM and Administrators ----------
# containerd runs the plugins as SYSTEM, and folders under C:\ inherit
# "Authenticated Users: Modify": any user could replace a plugin. icacls with
# SIDs (not names, which are localised): inheritance off, full control for
# SYSTEM (S-1-5-18) and Administrators (S-1-5-32-544), read and execute for
# Users (S-1-5-32-545), Administrators the owner; files inside inherit it.
function Protect-Folder([string] $Path) {
  & icacls.exe $Path /setowner '*S-1-5-32-544' /T /C /Q | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls could not make Administrators the owner of $Path (exit code $LASTEXITCODE)" }
  & icacls.exe $Path /inheritance:r /grant:r '*S-1-5-18:(OI)(CI)F' '*S-1-5-32-544:(OI)(CI)F' '*S-1-5-32-545:(OI)(CI)RX' /Q | Out-Null
  if ($LASTEXITCODE -ne 0) { throw "icacls could not set the ACL of $Path (exit code $LASTEXITCODE)" }
}

# Creates $Path and protects it and every folder above it that this run
# created (an inherited Modify on a parent would let a user rename the whole
# tree away and put another in its place).
function New-ProtectedFolder([string] $Path) {
  $created = @()
  $dir = $Path
  while ($dir -and -not (Test-Path -LiteralPath $dir)) {
    $created += $dir
    $dir = Split-Path -Parent $dir
  }
  New-Item -ItemType Directory -Force -Path $Path | Out-Null
  [array]::Reverse($created)
  foreach ($d in $created) { if ($d -ne $Path) { Protect-Folder $d } }
  Protect-Folder $Path
}

# --- Step: swap in one name ---------------------------------------------------
# $Staged is the complete new executable in the same folder. A hard link of it
# under a temporary name is renamed over $Destination by File.Replace, which
# first renames the old file aside (allowed even while it runs; deleting it
# is not): no moment without the name and no half-written file.
function Install-Name([string] $Staged, [string] $Destination) {
  $next = "$Destination.weft-new-$stamp"
  New-Item -ItemType HardLink -Path $next -Target $Staged | Out-Null
  if (-not (Test-Path -LiteralPath $Destination)) {
    [System.IO.File]::Move($next, $Destination)
    return
  }
  $aside = "$Destination.weft-old-$stamp"
  [System.IO.File]::Replace($next, $Destination, $aside)
  Remove-Aside $aside
}

# An old executable that is still running cannot be deleted yet: leave it for
# the next run.
function Remove-Aside([string] $Path) {
  try { Remove-Item -LiteralPath $Path -Force } catch { Write-Verbose "left $Path (in use)" }
}

# --- Step: the executables ------------------------------------------------------
function Install-Executables {
  Get-ChildItem -LiteralPath $CniBinDir -Filter '*.weft-old-*' -File | ForEach-Object { Remove-Aside $_.FullName }
  $staged = Join-Path $CniBinDir "weft.exe.weft-staged-$stamp"
  Copy-Item -LiteralPath $source -Destination $staged
  try {
    # Compile weft's JavaScript once on this node (a V8 code cache beside the
    # executables) before the swap, so the first pod start has it.
    & $staged --weft-build-code-cache | Out-Null
    if ($LASTEXITCODE -ne 0) { Write-Warning 'no code cache written; weft starts a little slower' }
    foreach ($name in $names) { Install-Name $staged (Join-Path $CniBinDir "$name.exe") }
  } finally {
    Remove-Item -LiteralPath $staged -Force -ErrorAction SilentlyContinue
    Get-ChildItem -LiteralPath $CniBinDir -Filter "*.weft-new-$stamp" -File | Remove-Item -Force
  }
}

# --- Step: the PowerShell scripts the win-* plugins run ---------------------
# Written beside, then renamed over: a plugin starting meanwhile reads the old
# script or the new one, whole.
function Install-Scripts {
  # weft-hns.ps1, its C# (weft-hns.cs) and the compile step (weft-hns-compile.ps1).
  Get-ChildItem -LiteralPath $here -Filter 'weft-hns*' -File |
    ForEach-Object {
      $destination = Join-Path $CniBinDir $_.Name
      $next = "$destination.weft-new-$stamp"
      Copy-Item -LiteralPath $_.FullName -Destination $next
      if (Test-Path -LiteralPath $destination) {
        [System.IO.File]::Replace($next, $destination, "$destination.weft-old-$stamp")
        Remove-Aside "$destination.weft-old-$stamp"
      } else {
        [System.IO.File]::Move($next, $destination)
      }
    }
}

# --- Step: the HNS script's C#, compiled once on this node --------------------
# weft-hns-compile.ps1 writes weft-hns-<hash>.dll beside weft-hns.ps1, which
# loads it instead of compiling weft-hns.cs in every CNI command (csc.exe,
# seconds of CPU per pod). Without it weft still works, slowly: a warning.
function Install-HnsAssembly {
  try { $null = & (Join-Path $CniBinDir 'weft-hns-compile.ps1') }
  catch { Write-Warning "weft-hns.cs not precompiled ($($_.Exception.Message)): every CNI command compiles it, seconds of CPU per pod" }
}

# --- Step: the network configuration (only with -WriteConf) -----------------
function Install-Conf {
  New-ProtectedFolder $CniConfDir
  $from = Join-Path (Join-Path $here 'conf') "10-flannel-$WriteConf.conf"
  $destination = Join-Path $CniConfDir '10-flannel.conf'
  if ((Test-Path -LiteralPath $destination) -and -not $Force) {
    throw "$destination exists; use -Force to replace it"
  }
  $next = "$destination.weft-new-$stamp"
  Copy-Item -LiteralPath $from -Destination $next
  if (Test-Path -LiteralPath $destination) {
    # A backup name, not $null: PowerShell would pass "" for it.
    [System.IO.File]::Replace($next, $destination, "$destination.weft-old-$stamp")
    Remove-Item -LiteralPath "$destination.weft-old-$stamp" -Force
  } else {
    [System.IO.File]::Move($next, $destination)
  }
  Write-Output "wrote $destination (edit the service and cluster CIDRs for your cluster)"
}

# containerd takes the first configuration in name order: a file sorting
# before 10-flannel.conf (the default 0-containerd-nat.json, say) wins.
function Test-ConfOrder {
  if (-not (Test-Path -LiteralPath $CniConfDir)) { return }
  $first = Get-ChildItem -LiteralPath $CniConfDir -File |
    Where-Object { $_.Extension -in '.conf', '.conflist', '.json' } |
    Sort-Object Name | Select-Object -First 1
  if ($first -and $first.Name -ne '10-flannel.conf') {
    Write-Warning "$($first.FullName) sorts before 10-flannel.conf and will be used instead; remove or rename it"
  }
}

# --- The steps, in order: a failing step stops the install and says why -------
try {
  if (-not (Test-Path -LiteralPath $source)) { throw "$source not found: run install.ps1 from the unpacked weft folder" }
  New-ProtectedFolder $CniBinDir
  Install-Executables
  Install-Scripts
  Install-HnsAssembly
  Write-Output "weft installed in $CniBinDir"
  if ($WriteConf -ne 'none') { Install-Conf }
  Test-ConfOrder
} catch {
  [Console]::Error.WriteLine("install.ps1: $($_.Exception.Message)")
  exit 1
}
