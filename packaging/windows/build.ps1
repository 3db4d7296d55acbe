# castapp for Windows: the frozen folder, its self-test, then the Inno Setup installer.
#
#   powershell -File packaging\windows\build.ps1
#
# Needs the Python environment with castapp and PyInstaller, and Inno Setup 6 (iscc).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")
$python = if ($env:PYTHON) { $env:PYTHON } else { "python" }
$version = & $python -c "import castapp; print(castapp.__version__)"

# castapp.ico from the source art, rendered with Qt.
& $python -c @"
import sys
from pathlib import Path
sys.path.insert(0, 'packaging')
from icons import render_png
from PySide6.QtGui import QImage
png = render_png(Path('resources/castapp.svg'), 256, Path('build/package/castapp-256.png'))
QImage(str(png)).save('packaging/windows/castapp.ico', 'ICO')
"@

# File version resource for castapp.exe.
$parts = ($version -split '[.+-]')[0..2] + @('0') | ForEach-Object { [int]($_ -replace '\D', '0') }
$tuple = ($parts[0..3] -join ', ')
@"
VSVersionInfo(ffi=FixedFileInfo(filevers=($tuple), prodvers=($tuple)),
  kids=[StringFileInfo([StringTable('040904B0', [StringStruct('ProductName', 'castapp'),
  StringStruct('FileDescription', 'castapp'), StringStruct('ProductVersion', '$version'),
  StringStruct('FileVersion', '$version')])]), VarFileInfo([VarStruct('Translation', [1033, 1200])])])
"@ | Set-Content -Encoding UTF8 packaging\windows\version_info.txt

& $python -m PyInstaller packaging\castapp.spec --noconfirm --distpath build\package\dist --workpath build\package\work
if ($LASTEXITCODE) { exit $LASTEXITCODE }
$env:QT_QPA_PLATFORM = "offscreen"

# castapp-cli.exe is the console build: each command must print something and exit 0. (The
# windowed castapp.exe returns at once in PowerShell, with no output and no exit code.)
function Invoke-Checked([string[]]$Arguments) {
  $ErrorActionPreference = "Continue"  # log lines on stderr are output here, not errors
  $cli = "build\package\dist\castapp\castapp-cli.exe"
  $out = & $cli @Arguments 2>&1 | Out-String
  $code = $LASTEXITCODE
  Write-Host "castapp-cli $($Arguments -join ' ') -> exit $code"
  Write-Host $out
  if ($code -ne 0) { throw "castapp-cli $($Arguments -join ' ') exited with $code" }
  if (-not $out.Trim()) { throw "castapp-cli $($Arguments -join ' ') printed nothing" }
  return $out
}
$printed = Invoke-Checked @("--version")
if ($printed.Trim() -ne "castapp $version") { throw "--version printed '$($printed.Trim())'" }
Invoke-Checked @("--help") | Out-Null
Invoke-Checked @("serve", "--help") | Out-Null
Invoke-Checked @("--self-test", "--json") | Out-Null
Compress-Archive -Force build\package\dist\castapp "build\package\castapp-$version-windows-x64.zip"
& iscc "/DAppVersion=$version" packaging\windows\castapp.iss
exit $LASTEXITCODE
