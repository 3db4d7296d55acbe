; Inno Setup 6 script for castapp on Windows (64-bit).
;
;   pyinstaller packaging\castapp.spec --noconfirm --distpath build\package\dist
;   iscc /DAppVersion=0.1.0 packaging\windows\castapp.iss
;
; Installs the frozen folder build\package\dist\castapp to Program Files with a Start-menu
; entry. The folder has castapp.exe (windowed, for the Start menu) and castapp-cli.exe (the
; console build, for commands typed in a terminal or run by scripts: it prints and returns an
; exit code). Writes build\package\castapp-<version>-windows-x64-setup.exe.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6F1C2B7E-3A4D-4E59-9C1B-CA57A99C0DE1}
AppName=castapp
AppVersion={#AppVersion}
AppPublisher=The castapp developers
AppPublisherURL=https://github.com/castapp/castapp
DefaultDirName={autopf}\castapp
DefaultGroupName=castapp
DisableProgramGroupPage=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir=..\..\build\package
OutputBaseFilename=castapp-{#AppVersion}-windows-x64-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
SetupIconFile=castapp.ico
UninstallDisplayIcon={app}\castapp.exe
; The room service inside the receiver listens on the local network (TCP 8765) and media
; arrives over UDP. Windows asks on first start whether castapp may accept connections:
; allow it on private networks, or senders cannot reach this receiver.
InfoBeforeFile=firewall.txt

[Files]
Source: "..\..\build\package\dist\castapp\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\castapp"; Filename: "{app}\castapp.exe"
Name: "{group}\castapp – receive a cast"; Filename: "{app}\castapp.exe"; Parameters: "receive"
Name: "{group}\castapp – cast this screen"; Filename: "{app}\castapp.exe"; Parameters: "send"
Name: "{group}\Uninstall castapp"; Filename: "{uninstallexe}"

[Run]
Filename: "{app}\castapp.exe"; Description: "Start castapp"; Flags: nowait postinstall skipifsilent
