<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="en" sourcelanguage="en">
<context>
    <name>ApprovalPrompt</name>
    <message>
        <source>Allow</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Deny</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>← → to choose, OK to answer · A allow · D deny</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} wants to present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} more waiting</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>CodeCorner</name>
    <message>
        <source>Join with code</source>
        <extracomment>With HTTPS: the start of the certificate&apos;s SHA-256 fingerprint, for guests who compare it with their browser&apos;s warning.</extracomment>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Common</name>
    <message>
        <source>Language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>System language</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something went wrong: {error}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Launcher</name>
    <message>
        <source>What do you want to do?</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Receive
show a screen here</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send
cast this screen</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>MonitorPicker</name>
    <message>
        <source>Screen {n}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No screen to capture was found.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>PinCard</name>
    <message>
        <source>{name} wants to present. Type this PIN on that computer:</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>QtAudioOut</name>
    <message>
        <source>Sound: {codec} {kbps} kbit/s, buffer {buffer} ms, jitter {jitter} ms, A/V {offset} ms</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ReceiverWindow</name>
    <message>
        <source>castapp — receiver</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cast to this screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On your laptop open castapp, choose Send and type this code — or scan the QR code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service: {address}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Full screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Save snapshot</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show statistics</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Menu</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TV name…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Start at login as a kiosk</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Showing a cast</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Frame age: {ms} ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latency estimate: {ms} ms (network {net} + display {disp})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>TV name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Name presenters see for this TV:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This screen will start castapp at login ({path})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>castapp will no longer start at login</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not change the start at login: {error}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Turn away {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Layout</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One at a time</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Side by side</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Grid</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Spotlight</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Who can cast</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Anyone with the code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ask me to allow each presenter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A one-time PIN for each presenter</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Could not save a snapshot in {folder}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Snapshot saved to {folder}
{name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>RegionSelector</name>
    <message>
        <source>Drag over the part of the screen to share. Esc cancels.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>SenderWindow</name>
    <message>
        <source>castapp — cast this screen</source>
        <extracomment>The PIN the person typed from the TV&apos;s screen. The sound of the cast under way was muted (True) or unmuted. (TVs casting, TVs of the cast) while a cast goes to more than one TV.</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PIN on the TV:</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send PIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cast code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Quality</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Share</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Your name</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Share sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sound is not available on this system: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TV plays what this computer plays (not the microphone)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Send once through the room&apos;s media server (for many TVs)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This computer sends the picture once; the room&apos;s media server passes it on to every TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This room service has no media server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Offered once a TV has been reached through a room service that runs a media server.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Code on the TV, e.g. 482 913 (several: 482 913, 130 557)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Optional: host:port of a room service</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Shown on the TV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Auto (follows the content)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sharp text (slides, documents)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Smooth motion (video)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>native size</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Options</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready: {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is not a cast code. Codes have {n} digits.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This castapp link is not valid.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Entry {n} ({entry}) is not a cast code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The same code is given twice.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Ready: {n} TVs ({codes})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>1 more digit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{n} more digits</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cast</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Unmute sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mute sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Casting to {n} of {m} TVs</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>ShareChoice</name>
    <message>
        <source>Whole screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>One window</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Part of the screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Show the mouse pointer</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No window with a title was found.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Select…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The system asks what to share when the cast starts.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Pixels from the top-left corner of the chosen screen: left, top, width, height.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Choose a window to share.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Enter the part of the screen to share.</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Texts</name>
    <message>
        <source>The room service address is not valid. Use host:port.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Looking for the receiver on this network…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver runs a different version of castapp. Update both sides.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No TV is receiving the cast any more.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Another window covers part of the shared window; the receiver sees it too.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The shared window is minimised; the receiver keeps its last picture.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The shared window was closed.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>A sender</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service cannot be reached.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service&apos;s TLS certificate is not trusted by this computer.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No receiver is showing this code. Check the code on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Too many attempts. Wait a moment and try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service runs a different version of castapp. Update both sides.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service is busy. Try again in a minute.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service had a problem. Try again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Too many wrong codes were tried on this room service: it now also asks for the PIN shown on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service refused: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No receiver on this network has this code. Check the code on the TV; if it is right, enter the room service address shown there.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>There is no network to look for the receiver on.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot look for the receiver on the network: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>This is not a cast code or castapp link: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Monitor {monitor} does not exist; this computer has {available}.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot open the screen to capture: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot capture the screen: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot cast a picture of {size}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot record to {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot start the room service on {address}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TURN server&apos;s TLS certificate is not trusted.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>castapp ran into a problem and stopped: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TV said no.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TV stopped your cast.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection was tampered with — not casting.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Something went wrong: {reason}</source>
        <extracomment>End reasons a command line exits non-zero on, though the session did not fail.</extracomment>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>(retry in {s} s)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Media path: {route}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service unreachable</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service unreachable — retrying in {s} s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service reachable again; cast code {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for a sender</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver stopped.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is casting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>link: good</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>link: fair</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>link: poor</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>direct</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>through NAT</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>relayed</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>unknown</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No statistics yet</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver did not answer the connection request.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room is full: no one else can present on this TV right now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The room service could not confirm that this receiver owns its saved code.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot keep this TV&apos;s code and keys in {path}: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No direct path between the two networks and no TURN server configured.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Relay only was asked for, but no TURN server is configured.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TURN server refused the credentials.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The TURN server could not be reached.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No network path to the receiver, not even through the relay.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service unreachable — trying again now</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service reachable again</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} stopped presenting</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} no longer asks to present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} wants to present</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>PIN for {name}: {pin}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is typing the PIN</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is on screen</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name}: reconnecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type allow N, deny N or stop N (N: the presenter&apos;s number or name).</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>No presenter {which} is in the room.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>More than one presenter is called {which}: {numbered}. Type the number.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot {command} {name} now.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cast code {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On the laptop: castapp send {code}  (or {link})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>On the laptop: castapp send {code}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>In a browser: {link}  (the browser warns about this TV&apos;s own certificate; its SHA-256 fingerprint starts {fingerprint})</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Certificate SHA-256 starts {fingerprint}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service on {address}:{port}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Room service on port {port} (no network address other machines can reach)</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Found on this network by its code</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Cannot advertise on the network: {reason}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not advertised on the network</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Asking the TV…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Waiting for the TV to allow you…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the PIN shown on the TV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Too many wrong PINs. Try again in {s} s with the new PIN on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That PIN is not the one on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The region reaches past the screen: {width}x{height} at {left},{top} is sent.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>That is not a PIN: type the digits shown on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on screen: full</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on screen: spotlit</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>on screen: tile {n} of {m}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Found {name} at {host}:{port}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Frame rate: {fps} fps</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Bitrate: {kbps} kbit/s</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Resolution: {size}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Codec: {codec}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Path: {path}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Latency: {ms} ms</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>the receiver</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Looking for {code}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connecting to {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Casting to {name}</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Connection lost — reconnecting to {name}…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver dropped out — waiting for it to come back…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Type the code shown on the TV.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver ended the cast.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver is showing someone else&apos;s screen.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The receiver closed. Check the code and cast again.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The connection to the receiver was lost.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>The cast ended.</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Casting to {code}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>TvList</name>
    <message>
        <source>Add a TV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Code of another TV</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Remove</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Stop casting to {name}</source>
        <translation type="unfinished"></translation>
    </message>
</context>
<context>
    <name>Wall</name>
    <message>
        <source>Reconnecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>{name} is connecting…</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Browser</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Not verified</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Sound</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Muted</source>
        <translation type="unfinished"></translation>
    </message>
    <message>
        <source>Mute sound</source>
        <translation type="unfinished"></translation>
    </message>
</context>
</TS>
