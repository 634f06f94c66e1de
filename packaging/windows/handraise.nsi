; The HandRaise installer for Windows (the tray app and the agent command), built on Linux by
; `cargo xtask dist --windows` with Debian's NSIS:
;   makensis -DVERSION=0.1.0 -DSRCDIR=<dir with handraise.exe, handraise-agent.exe, icon.ico>
;            -DOUTFILE=<setup.exe> handraise.nsi
;
; IT pushes it silently, with the district's settings (docs/windows.md):
;   HandRaise-0.1.0-setup.exe /S /SERVER=https://handraise.district.example /TOKEN=... ^
;       /SCHOOL="Lincoln Elementary" /BUILDING=North /ALLOWQUIT=0 /AUTOSTART=1 ^
;       /HIDEFACTS=processes,printers /SHORTCUT=Ctrl+Alt+H
; A value runs to the next option (so URLs need no quotes) and may be quoted.
; or with a whole file: /CONFIG=\\server\share\agent.toml
; Either is written to %ProgramData%\HandRaise\agent.toml, the agent's system file. Without
; any of them an existing file is kept (an upgrade). Group Policy values under
; HKLM\SOFTWARE\Policies\HandRaise win over the file.

; A 64-bit installer (HandRaise is 64-bit only): it also runs in a 64-bit-only Wine prefix.
Target amd64-unicode
SetCompressor /SOLID lzma
RequestExecutionLevel admin

!include "FileFunc.nsh"
!include "WordFunc.nsh"
!include "LogicLib.nsh"
!include "x64.nsh"
!include "MUI2.nsh"

!ifndef VERSION
  !error "pass -DVERSION=x.y.z"
!endif
!ifndef SRCDIR
  !error "pass -DSRCDIR=the directory holding the binaries"
!endif
!ifndef OUTFILE
  !define OUTFILE "HandRaise-${VERSION}-setup.exe"
!endif

!define PRODUCT "HandRaise"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\HandRaise"
!define RUN_KEY "Software\Microsoft\Windows\CurrentVersion\Run"

Name "${PRODUCT}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\HandRaise"
InstallDirRegKey HKLM "Software\HandRaise" "InstallDir"
Icon "${SRCDIR}\icon.ico"
UninstallIcon "${SRCDIR}\icon.ico"
VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${PRODUCT}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "HandRaise installer"
VIAddVersionKey "LegalCopyright" "MIT OR Apache-2.0"

!define MUI_ICON "${SRCDIR}\icon.ico"
!define MUI_UNICON "${SRCDIR}\icon.ico"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"
!insertmacro MUI_LANGUAGE "Spanish"

Var Params
Var Value
Var Wrote

; $Value with \ and " escaped for a TOML basic string.
!macro TomlEscape
  ${WordReplace} "$Value" "\" "\\" "+" $Value
  ${WordReplace} "$Value" '"' '\"' "+" $Value
!macroend

; Pops an option ("/SERVER="), pushes its value from $Params; sets the error flag when it
; is not there. NSIS's GetOptions is not used: it cuts a value at every "/", so an unquoted
; URL would end at "https:". Here a value ends at the next " /" (or ' "/'), and quotes around it (as
; /SCHOOL="A B", or as Windows quotes a whole argument, "/SCHOOL=A B") are dropped.
Function GetOpt
  Exch $R0
  Push $R1
  Push $R2
  Push $R3
  Push $R4
  StrCpy $R1 " $Params"
  StrLen $R3 $R0
  StrCpy $R2 1
  find:
    StrCpy $R4 $R1 $R3 $R2
    StrCmp $R4 "" notfound
    StrCmp $R4 $R0 0 next
    IntOp $R4 $R2 - 1
    StrCpy $R4 $R1 1 $R4
    StrCmp $R4 " " found
    StrCmp $R4 '"' found
  next:
    IntOp $R2 $R2 + 1
    Goto find
  found:
    IntOp $R2 $R2 + $R3
    StrCpy $R1 $R1 "" $R2
    StrCpy $R2 0
  scan:
    StrCpy $R4 $R1 2 $R2
    StrCmp $R4 "" cut
    StrCmp $R4 " /" cut
    StrCpy $R4 $R1 3 $R2
    StrCmp $R4 ' "/' cut
    IntOp $R2 $R2 + 1
    Goto scan
  cut:
    StrCpy $R1 $R1 $R2
  trim:
    StrCpy $R4 $R1 1 -1
    StrCmp $R4 " " 0 unquote
    StrCpy $R1 $R1 -1
    Goto trim
  unquote:
    StrCpy $R4 $R1 1
    StrCmp $R4 '"' 0 +2
    StrCpy $R1 $R1 "" 1
    StrCpy $R4 $R1 1 -1
    StrCmp $R4 '"' 0 +2
    StrCpy $R1 $R1 -1
    ClearErrors
    Goto done
  notfound:
    StrCpy $R1 ""
    SetErrors
  done:
  StrCpy $R0 $R1
  Pop $R4
  Pop $R3
  Pop $R2
  Pop $R1
  Exch $R0
FunctionEnd

!macro GetOpt OPT
  Push "/${OPT}="
  Call GetOpt
  Pop $Value
!macroend

; Writes `key = "value"` for the option /OPT=value when it was given.
!macro StringKey OPT KEY
  !insertmacro GetOpt ${OPT}
  ${IfNot} ${Errors}
    !insertmacro TomlEscape
    FileWrite $0 '${KEY} = "$Value"$\r$\n'
    StrCpy $Wrote 1
  ${EndIf}
!macroend

; Writes `key = true|false` for /OPT=1|0.
!macro BoolKey OPT KEY
  !insertmacro GetOpt ${OPT}
  ${IfNot} ${Errors}
    ${If} $Value == "0"
      FileWrite $0 '${KEY} = false$\r$\n'
    ${Else}
      FileWrite $0 '${KEY} = true$\r$\n'
    ${EndIf}
    StrCpy $Wrote 1
  ${EndIf}
!macroend

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "HandRaise needs 64-bit Windows." /SD IDOK
    Abort
  ${EndIf}
  SetRegView 64
FunctionEnd

Section "HandRaise" SecMain
  SetShellVarContext all
  SetOutPath "$INSTDIR"
  File "${SRCDIR}\handraise.exe"
  File "${SRCDIR}\handraise-agent.exe"
  File "${SRCDIR}\icon.ico"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; The district's settings.
  ${GetParameters} $Params
  CreateDirectory "$APPDATA\HandRaise"
  !insertmacro GetOpt CONFIG
  ${IfNot} ${Errors}
    CopyFiles /SILENT "$Value" "$APPDATA\HandRaise\agent.toml"
  ${Else}
    StrCpy $Wrote 0
    FileOpen $0 "$APPDATA\HandRaise\agent.toml.new" w
    FileWrite $0 "# Written by the HandRaise installer.$\r$\n"
    !insertmacro StringKey SERVER server_url
    !insertmacro StringKey TOKEN enrollment_token
    !insertmacro StringKey SCHOOL school
    !insertmacro StringKey BUILDING building
    FileWrite $0 "$\r$\n[policy]$\r$\n"
    !insertmacro BoolKey ALLOWQUIT allow_quit
    !insertmacro BoolKey AUTOSTART autostart
    !insertmacro StringKey SHORTCUT shortcut
    !insertmacro GetOpt HIDEFACTS
    ${IfNot} ${Errors}
      ${WordReplace} "$Value" "," '", "' "+" $Value
      FileWrite $0 'hide_facts = ["$Value"]$\r$\n'
      StrCpy $Wrote 1
    ${EndIf}
    FileClose $0
    ${If} $Wrote == 1
      Delete "$APPDATA\HandRaise\agent.toml"
      Rename "$APPDATA\HandRaise\agent.toml.new" "$APPDATA\HandRaise\agent.toml"
    ${Else}
      Delete "$APPDATA\HandRaise\agent.toml.new"
    ${EndIf}
  ${EndIf}

  ; Start at every user's sign-in unless /AUTOSTART=0 (the app also follows the policy's
  ; autostart for each user once it runs). With --autostart a tray that already runs (the
  ; user's own Run entry started it) opens nothing, and a policy that turns starting at
  ; sign-in off keeps it from starting.
  !insertmacro GetOpt AUTOSTART
  ${If} ${Errors}
  ${OrIf} $Value != "0"
    WriteRegStr HKLM "${RUN_KEY}" "HandRaise" '"$INSTDIR\handraise.exe" --autostart'
  ${Else}
    DeleteRegValue HKLM "${RUN_KEY}" "HandRaise"
  ${EndIf}

  CreateShortCut "$SMPROGRAMS\HandRaise.lnk" "$INSTDIR\handraise.exe" "" "$INSTDIR\icon.ico"
  WriteRegStr HKLM "Software\HandRaise" "InstallDir" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "HandRaise"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "HandRaise"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\icon.ico"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
SectionEnd

Function un.onInit
  SetRegView 64
FunctionEnd

; The district's agent.toml and each teacher's data (%LOCALAPPDATA%\HandRaise) stay.
Section "Uninstall"
  SetShellVarContext all
  DeleteRegValue HKLM "${RUN_KEY}" "HandRaise"
  Delete "$SMPROGRAMS\HandRaise.lnk"
  Delete "$INSTDIR\handraise.exe"
  Delete "$INSTDIR\handraise-agent.exe"
  Delete "$INSTDIR\icon.ico"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKLM "${UNINST_KEY}"
  DeleteRegKey HKLM "Software\HandRaise"
SectionEnd
