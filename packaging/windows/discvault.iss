; Inno Setup script: per-user install of the PyInstaller onedir bundle (dist\DiscVault).
; Built by .github/workflows/build.yml: iscc /DAppVersion=X.Y.Z packaging\windows\discvault.iss
#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif

[Setup]
AppId={{6F0B9D0E-6C2B-4E7E-9C58-2D4C3B1A7D21}
AppName=DiscVault
AppVersion={#AppVersion}
AppPublisher=DiscVault
DefaultDirName={localappdata}\Programs\DiscVault
DefaultGroupName=DiscVault
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputDir=..\..\dist
OutputBaseFilename=DiscVault-{#AppVersion}-setup
SetupIconFile=..\..\resources\discvault.ico
UninstallDisplayIcon={app}\DiscVault.exe
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ChangesAssociations=yes
ArchitecturesInstallIn64BitMode=x64compatible

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "isoassoc"; Description: "Open .iso files with DiscVault"; GroupDescription: "File types:"

[InstallDelete]
; A clean upgrade: files of the previous version's runtime must not linger next to the new ones.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "..\..\dist\DiscVault\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\DiscVault"; Filename: "{app}\DiscVault.exe"
Name: "{group}\Uninstall DiscVault"; Filename: "{uninstallexe}"
Name: "{userdesktop}\DiscVault"; Filename: "{app}\DiscVault.exe"; Tasks: desktopicon

[Registry]
Root: HKCU; Subkey: "Software\Classes\.iso\OpenWithProgids"; ValueType: string; ValueName: "DiscVault.iso"; ValueData: ""; Flags: uninsdeletevalue; Tasks: isoassoc
Root: HKCU; Subkey: "Software\Classes\DiscVault.iso"; ValueType: string; ValueName: ""; ValueData: "Disc image"; Flags: uninsdeletekey; Tasks: isoassoc
Root: HKCU; Subkey: "Software\Classes\DiscVault.iso\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\DiscVault.exe,0"; Tasks: isoassoc
Root: HKCU; Subkey: "Software\Classes\DiscVault.iso\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\DiscVault.exe"" ""%1"""; Tasks: isoassoc

[Run]
Filename: "{app}\DiscVault.exe"; Description: "{cm:LaunchProgram,DiscVault}"; Flags: nowait postinstall skipifsilent
