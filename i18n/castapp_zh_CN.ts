<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
<context>
    <name>ApprovalPrompt</name>
    <message>
        <source>Allow</source>
        <translation>允许</translation>
    </message>
    <message>
        <source>Deny</source>
        <translation>拒绝</translation>
    </message>
    <message>
        <source>← → to choose, OK to answer · A allow · D deny</source>
        <translation>← → 选择，确定键回答 · A 允许 · D 拒绝</translation>
    </message>
    <message>
        <source>{name} wants to present</source>
        <translation>{name} 想要投屏</translation>
    </message>
    <message>
        <source>{n} more waiting</source>
        <translation>还有 {n} 人在等待</translation>
    </message>
</context>
<context>
    <name>CodeCorner</name>
    <message>
        <source>Join with code</source>
        <extracomment>With HTTPS: the start of the certificate&apos;s SHA-256 fingerprint, for guests who compare it with their browser&apos;s warning.</extracomment>
        <translation>输入投屏码加入</translation>
    </message>
</context>
<context>
    <name>Common</name>
    <message>
        <source>Language</source>
        <translation>语言</translation>
    </message>
    <message>
        <source>System language</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>Something went wrong: {error}</source>
        <translation>出错了：{error}</translation>
    </message>
</context>
<context>
    <name>Launcher</name>
    <message>
        <source>What do you want to do?</source>
        <translation>您想做什么？</translation>
    </message>
    <message>
        <source>Receive
show a screen here</source>
        <translation>接收
在这里显示屏幕</translation>
    </message>
    <message>
        <source>Send
cast this screen</source>
        <translation>发送
投射这台电脑的屏幕</translation>
    </message>
</context>
<context>
    <name>MonitorPicker</name>
    <message>
        <source>Screen {n}</source>
        <translation>屏幕 {n}</translation>
    </message>
    <message>
        <source>No screen to capture was found.</source>
        <translation>没有找到可以共享的屏幕。</translation>
    </message>
</context>
<context>
    <name>PinCard</name>
    <message>
        <source>{name} wants to present. Type this PIN on that computer:</source>
        <translation>{name} 想要投屏。请在那台电脑上输入这个 PIN：</translation>
    </message>
</context>
<context>
    <name>QtAudioOut</name>
    <message>
        <source>Sound: {codec} {kbps} kbit/s, buffer {buffer} ms, jitter {jitter} ms, A/V {offset} ms</source>
        <translation>声音：{codec} {kbps} kbit/s，缓冲 {buffer} 毫秒，抖动 {jitter} 毫秒，音画偏差 {offset} 毫秒</translation>
    </message>
</context>
<context>
    <name>ReceiverWindow</name>
    <message>
        <source>castapp — receiver</source>
        <translation>castapp — 接收端</translation>
    </message>
    <message>
        <source>Cast to this screen</source>
        <translation>投屏到这块屏幕</translation>
    </message>
    <message>
        <source>On your laptop open castapp, choose Send and type this code — or scan the QR code.</source>
        <translation>在笔记本电脑上打开 castapp，选择“发送”并输入此投屏码，或扫描二维码。</translation>
    </message>
    <message>
        <source>Room service: {address}</source>
        <translation>房间服务：{address}</translation>
    </message>
    <message>
        <source>Full screen</source>
        <translation>全屏</translation>
    </message>
    <message>
        <source>Save snapshot</source>
        <translation>保存截图</translation>
    </message>
    <message>
        <source>Show statistics</source>
        <translation>显示统计信息</translation>
    </message>
    <message>
        <source>Menu</source>
        <translation>菜单</translation>
    </message>
    <message>
        <source>TV name…</source>
        <translation>电视名称…</translation>
    </message>
    <message>
        <source>Start at login as a kiosk</source>
        <translation>登录时以展台模式启动</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Showing a cast</source>
        <translation>正在显示投屏</translation>
    </message>
    <message>
        <source>Frame age: {ms} ms</source>
        <translation>画面延迟：{ms} 毫秒</translation>
    </message>
    <message>
        <source>Latency estimate: {ms} ms (network {net} + display {disp})</source>
        <translation>估计延迟：{ms} 毫秒（网络 {net} + 显示 {disp}）</translation>
    </message>
    <message>
        <source>TV name</source>
        <translation>电视名称</translation>
    </message>
    <message>
        <source>Name presenters see for this TV:</source>
        <translation>演示者看到的这台电视的名称：</translation>
    </message>
    <message>
        <source>This screen will start castapp at login ({path})</source>
        <translation>这块屏幕将在登录时启动 castapp（{path}）</translation>
    </message>
    <message>
        <source>castapp will no longer start at login</source>
        <translation>castapp 将不再在登录时启动</translation>
    </message>
    <message>
        <source>Could not change the start at login: {error}</source>
        <translation>无法更改登录时启动：{error}</translation>
    </message>
    <message>
        <source>Stop {name}</source>
        <translation>停止 {name}</translation>
    </message>
    <message>
        <source>Turn away {name}</source>
        <translation>拒绝 {name}</translation>
    </message>
    <message>
        <source>Layout</source>
        <translation>布局</translation>
    </message>
    <message>
        <source>Automatic</source>
        <translation>自动</translation>
    </message>
    <message>
        <source>One at a time</source>
        <translation>一次一个</translation>
    </message>
    <message>
        <source>Side by side</source>
        <translation>并排</translation>
    </message>
    <message>
        <source>Grid</source>
        <translation>网格</translation>
    </message>
    <message>
        <source>Spotlight</source>
        <translation>聚焦</translation>
    </message>
    <message>
        <source>Who can cast</source>
        <translation>谁可以投屏</translation>
    </message>
    <message>
        <source>Anyone with the code</source>
        <translation>任何知道投屏码的人</translation>
    </message>
    <message>
        <source>Ask me to allow each presenter</source>
        <translation>每位演示者需经我允许</translation>
    </message>
    <message>
        <source>A one-time PIN for each presenter</source>
        <translation>每位演示者使用一次性 PIN</translation>
    </message>
    <message>
        <source>Could not save a snapshot in {folder}</source>
        <translation>无法在 {folder} 中保存截图</translation>
    </message>
    <message>
        <source>Snapshot saved to {folder}
{name}</source>
        <translation>截图已保存到 {folder}
{name}</translation>
    </message>
</context>
<context>
    <name>RegionSelector</name>
    <message>
        <source>Drag over the part of the screen to share. Esc cancels.</source>
        <translation>拖动鼠标框选要共享的屏幕区域，按 Esc 取消。</translation>
    </message>
</context>
<context>
    <name>SenderWindow</name>
    <message>
        <source>castapp — cast this screen</source>
        <extracomment>The PIN the person typed from the TV&apos;s screen. The sound of the cast under way was muted (True) or unmuted. (TVs casting, TVs of the cast) while a cast goes to more than one TV.</extracomment>
        <translation>castapp — 投射此屏幕</translation>
    </message>
    <message>
        <source>PIN on the TV:</source>
        <translation>电视上的 PIN：</translation>
    </message>
    <message>
        <source>Send PIN</source>
        <translation>发送 PIN</translation>
    </message>
    <message>
        <source>Cast code</source>
        <translation>投屏码</translation>
    </message>
    <message>
        <source>Quality</source>
        <translation>画质</translation>
    </message>
    <message>
        <source>Share</source>
        <translation>共享</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>您的名称</translation>
    </message>
    <message>
        <source>Room service</source>
        <translation>房间服务</translation>
    </message>
    <message>
        <source>Sound</source>
        <translation>声音</translation>
    </message>
    <message>
        <source>Share sound</source>
        <translation>共享声音</translation>
    </message>
    <message>
        <source>Sound is not available on this system: {reason}</source>
        <translation>此系统无法共享声音：{reason}</translation>
    </message>
    <message>
        <source>The TV plays what this computer plays (not the microphone)</source>
        <translation>电视播放这台电脑正在播放的声音（不是麦克风）</translation>
    </message>
    <message>
        <source>Send once through the room&apos;s media server (for many TVs)</source>
        <translation>通过房间的媒体服务器只发送一次（适合多台电视）</translation>
    </message>
    <message>
        <source>This computer sends the picture once; the room&apos;s media server passes it on to every TV.</source>
        <translation>本电脑只发送一次画面，由房间的媒体服务器转发给每台电视。</translation>
    </message>
    <message>
        <source>This room service has no media server.</source>
        <translation>此房间服务没有媒体服务器。</translation>
    </message>
    <message>
        <source>Offered once a TV has been reached through a room service that runs a media server.</source>
        <translation>通过运行媒体服务器的房间服务连接到电视后即可使用。</translation>
    </message>
    <message>
        <source>Code on the TV, e.g. 482 913 (several: 482 913, 130 557)</source>
        <translation>电视上显示的投屏码，例如 482 913（多个：482 913, 130 557）</translation>
    </message>
    <message>
        <source>Optional: host:port of a room service</source>
        <translation>可选：房间服务的 主机:端口</translation>
    </message>
    <message>
        <source>Shown on the TV</source>
        <translation>显示在电视上</translation>
    </message>
    <message>
        <source>Auto (follows the content)</source>
        <translation>自动（随内容调整）</translation>
    </message>
    <message>
        <source>Sharp text (slides, documents)</source>
        <translation>清晰文字（幻灯片、文档）</translation>
    </message>
    <message>
        <source>Balanced</source>
        <translation>均衡</translation>
    </message>
    <message>
        <source>Smooth motion (video)</source>
        <translation>流畅动态（视频）</translation>
    </message>
    <message>
        <source>native size</source>
        <translation>原始尺寸</translation>
    </message>
    <message>
        <source>Options</source>
        <translation>选项</translation>
    </message>
    <message>
        <source>Show window</source>
        <translation>显示窗口</translation>
    </message>
    <message>
        <source>Stop</source>
        <translation>停止</translation>
    </message>
    <message>
        <source>Ready: {code}</source>
        <translation>就绪：{code}</translation>
    </message>
    <message>
        <source>This is not a cast code. Codes have {n} digits.</source>
        <translation>这不是有效的投屏码。投屏码为 {n} 位数字。</translation>
    </message>
    <message>
        <source>This castapp link is not valid.</source>
        <translation>此 castapp 链接无效。</translation>
    </message>
    <message>
        <source>Entry {n} ({entry}) is not a cast code.</source>
        <translation>第 {n} 项（{entry}）不是投屏码。</translation>
    </message>
    <message>
        <source>The same code is given twice.</source>
        <translation>同一个投屏码输入了两次。</translation>
    </message>
    <message>
        <source>Ready: {n} TVs ({codes})</source>
        <translation>就绪：{n} 台电视（{codes}）</translation>
    </message>
    <message>
        <source>1 more digit</source>
        <translation>还差 1 位</translation>
    </message>
    <message>
        <source>{n} more digits</source>
        <translation>还差 {n} 位</translation>
    </message>
    <message>
        <source>Cast</source>
        <translation>投屏</translation>
    </message>
    <message>
        <source>Unmute sound</source>
        <translation>取消静音</translation>
    </message>
    <message>
        <source>Mute sound</source>
        <translation>静音</translation>
    </message>
    <message>
        <source>Casting to {n} of {m} TVs</source>
        <translation>正在投屏到 {n}/{m} 台电视</translation>
    </message>
</context>
<context>
    <name>ShareChoice</name>
    <message>
        <source>Whole screen</source>
        <translation>整个屏幕</translation>
    </message>
    <message>
        <source>One window</source>
        <translation>一个窗口</translation>
    </message>
    <message>
        <source>Part of the screen</source>
        <translation>屏幕的一部分</translation>
    </message>
    <message>
        <source>Show the mouse pointer</source>
        <translation>显示鼠标指针</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>No window with a title was found.</source>
        <translation>没有找到带标题的窗口。</translation>
    </message>
    <message>
        <source>Select…</source>
        <translation>框选…</translation>
    </message>
    <message>
        <source>The system asks what to share when the cast starts.</source>
        <translation>开始投屏时，系统会询问要共享的内容。</translation>
    </message>
    <message>
        <source>Pixels from the top-left corner of the chosen screen: left, top, width, height.</source>
        <translation>以所选屏幕左上角为原点的像素：左、上、宽、高。</translation>
    </message>
    <message>
        <source>Choose a window to share.</source>
        <translation>请选择要共享的窗口。</translation>
    </message>
    <message>
        <source>Enter the part of the screen to share.</source>
        <translation>请输入要共享的屏幕区域。</translation>
    </message>
</context>
<context>
    <name>Texts</name>
    <message>
        <source>The room service address is not valid. Use host:port.</source>
        <translation>房间服务地址无效。请使用 主机:端口 格式。</translation>
    </message>
    <message>
        <source>Looking for the receiver on this network…</source>
        <translation>正在此网络上查找接收端…</translation>
    </message>
    <message>
        <source>The receiver runs a different version of castapp. Update both sides.</source>
        <translation>接收端运行的 castapp 版本不同。请将两端都更新。</translation>
    </message>
    <message>
        <source>No TV is receiving the cast any more.</source>
        <translation>已没有电视在接收投屏。</translation>
    </message>
    <message>
        <source>Another window covers part of the shared window; the receiver sees it too.</source>
        <translation>另一个窗口遮住了共享窗口的一部分，接收端也会看到它。</translation>
    </message>
    <message>
        <source>The shared window is minimised; the receiver keeps its last picture.</source>
        <translation>共享的窗口已最小化，接收端保留最后一个画面。</translation>
    </message>
    <message>
        <source>The shared window was closed.</source>
        <translation>共享的窗口已关闭。</translation>
    </message>
    <message>
        <source>A sender</source>
        <translation>一位发送者</translation>
    </message>
    <message>
        <source>The room service cannot be reached.</source>
        <translation>无法连接到房间服务。</translation>
    </message>
    <message>
        <source>The room service&apos;s TLS certificate is not trusted by this computer.</source>
        <translation>这台电脑不信任房间服务的 TLS 证书。</translation>
    </message>
    <message>
        <source>No receiver is showing this code. Check the code on the TV.</source>
        <translation>没有接收端显示此投屏码。请核对电视上的投屏码。</translation>
    </message>
    <message>
        <source>Too many attempts. Wait a moment and try again.</source>
        <translation>尝试次数过多。请稍候再试。</translation>
    </message>
    <message>
        <source>The room service runs a different version of castapp. Update both sides.</source>
        <translation>房间服务运行的 castapp 版本不同。请将两端都更新。</translation>
    </message>
    <message>
        <source>The room service is busy. Try again in a minute.</source>
        <translation>房间服务繁忙。请一分钟后再试。</translation>
    </message>
    <message>
        <source>The room service had a problem. Try again.</source>
        <translation>房间服务出现问题。请重试。</translation>
    </message>
    <message>
        <source>Too many wrong codes were tried on this room service: it now also asks for the PIN shown on the TV.</source>
        <translation>此房间服务上尝试了太多错误的投屏码：现在还需要输入电视上显示的 PIN。</translation>
    </message>
    <message>
        <source>The room service refused: {reason}</source>
        <translation>房间服务拒绝了请求：{reason}</translation>
    </message>
    <message>
        <source>No receiver on this network has this code. Check the code on the TV; if it is right, enter the room service address shown there.</source>
        <translation>此网络上没有接收端使用这个投屏码。请核对电视上的投屏码；如果无误，请输入电视上显示的房间服务地址。</translation>
    </message>
    <message>
        <source>There is no network to look for the receiver on.</source>
        <translation>没有可用于查找接收端的网络。</translation>
    </message>
    <message>
        <source>Cannot look for the receiver on the network: {reason}</source>
        <translation>无法在网络上查找接收端：{reason}</translation>
    </message>
    <message>
        <source>This is not a cast code or castapp link: {reason}</source>
        <translation>这不是投屏码或 castapp 链接：{reason}</translation>
    </message>
    <message>
        <source>Monitor {monitor} does not exist; this computer has {available}.</source>
        <translation>显示器 {monitor} 不存在；这台电脑有 {available}。</translation>
    </message>
    <message>
        <source>Cannot open the screen to capture: {reason}</source>
        <translation>无法打开要捕获的屏幕：{reason}</translation>
    </message>
    <message>
        <source>Cannot capture the screen: {reason}</source>
        <translation>无法捕获屏幕：{reason}</translation>
    </message>
    <message>
        <source>Cannot cast a picture of {size}: {reason}</source>
        <translation>无法投射 {size} 的画面：{reason}</translation>
    </message>
    <message>
        <source>Cannot record to {path}: {reason}</source>
        <translation>无法录制到 {path}：{reason}</translation>
    </message>
    <message>
        <source>Cannot start the room service on {address}: {reason}</source>
        <translation>无法在 {address} 上启动房间服务：{reason}</translation>
    </message>
    <message>
        <source>The TURN server&apos;s TLS certificate is not trusted.</source>
        <translation>TURN 服务器的 TLS 证书不受信任。</translation>
    </message>
    <message>
        <source>castapp ran into a problem and stopped: {reason}</source>
        <translation>castapp 遇到问题并已停止：{reason}</translation>
    </message>
    <message>
        <source>The TV said no.</source>
        <translation>电视拒绝了。</translation>
    </message>
    <message>
        <source>The TV stopped your cast.</source>
        <translation>电视停止了你的投屏。</translation>
    </message>
    <message>
        <source>The connection was tampered with — not casting.</source>
        <translation>连接被篡改 — 未投屏。</translation>
    </message>
    <message>
        <source>Something went wrong: {reason}</source>
        <extracomment>End reasons a command line exits non-zero on, though the session did not fail.</extracomment>
        <translation>出现问题：{reason}</translation>
    </message>
    <message>
        <source>(retry in {s} s)</source>
        <translation>（{s} 秒后重试）</translation>
    </message>
    <message>
        <source>Media path: {route}</source>
        <translation>媒体路径：{route}</translation>
    </message>
    <message>
        <source>Room service unreachable</source>
        <translation>无法连接房间服务</translation>
    </message>
    <message>
        <source>Room service unreachable — retrying in {s} s</source>
        <translation>无法连接房间服务 — {s} 秒后重试</translation>
    </message>
    <message>
        <source>Room service reachable again; cast code {code}</source>
        <translation>房间服务已恢复；投屏码 {code}</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>{name} is connecting…</source>
        <translation>{name} 正在连接…</translation>
    </message>
    <message>
        <source>Waiting for a sender</source>
        <translation>等待发送端</translation>
    </message>
    <message>
        <source>The receiver stopped.</source>
        <translation>接收端已停止。</translation>
    </message>
    <message>
        <source>{name} is casting</source>
        <translation>{name} 正在投屏</translation>
    </message>
    <message>
        <source>link: good</source>
        <translation>连接：良好</translation>
    </message>
    <message>
        <source>link: fair</source>
        <translation>连接：一般</translation>
    </message>
    <message>
        <source>link: poor</source>
        <translation>连接：较差</translation>
    </message>
    <message>
        <source>direct</source>
        <translation>直连</translation>
    </message>
    <message>
        <source>through NAT</source>
        <translation>经过 NAT</translation>
    </message>
    <message>
        <source>relayed</source>
        <translation>中继</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>No statistics yet</source>
        <translation>暂无统计信息</translation>
    </message>
    <message>
        <source>Reconnecting…</source>
        <translation>正在重新连接…</translation>
    </message>
    <message>
        <source>The receiver did not answer the connection request.</source>
        <translation>接收端没有响应连接请求。</translation>
    </message>
    <message>
        <source>The room is full: no one else can present on this TV right now.</source>
        <translation>会议室已满：现在无法再有人在这台电视上演示。</translation>
    </message>
    <message>
        <source>The room service could not confirm that this receiver owns its saved code.</source>
        <translation>房间服务无法确认此接收端拥有其保存的投屏码。</translation>
    </message>
    <message>
        <source>Cannot keep this TV&apos;s code and keys in {path}: {reason}</source>
        <translation>无法在 {path} 中保存这台电视的投屏码和密钥：{reason}</translation>
    </message>
    <message>
        <source>No direct path between the two networks and no TURN server configured.</source>
        <translation>两个网络之间没有直连路径，且未配置 TURN 服务器。</translation>
    </message>
    <message>
        <source>Relay only was asked for, but no TURN server is configured.</source>
        <translation>已要求仅使用中继，但未配置 TURN 服务器。</translation>
    </message>
    <message>
        <source>The TURN server refused the credentials.</source>
        <translation>TURN 服务器拒绝了凭据。</translation>
    </message>
    <message>
        <source>The TURN server could not be reached.</source>
        <translation>无法连接到 TURN 服务器。</translation>
    </message>
    <message>
        <source>No network path to the receiver, not even through the relay.</source>
        <translation>没有到接收端的网络路径，中继也不行。</translation>
    </message>
    <message>
        <source>Room service unreachable — trying again now</source>
        <translation>无法连接房间服务 — 正在重试</translation>
    </message>
    <message>
        <source>Room service reachable again</source>
        <translation>房间服务已恢复</translation>
    </message>
    <message>
        <source>{name} stopped presenting</source>
        <translation>{name} 停止了演示</translation>
    </message>
    <message>
        <source>{name} no longer asks to present</source>
        <translation>{name} 不再请求演示</translation>
    </message>
    <message>
        <source>{name} wants to present</source>
        <translation>{name} 想要演示</translation>
    </message>
    <message>
        <source>PIN for {name}: {pin}</source>
        <translation>{name} 的 PIN：{pin}</translation>
    </message>
    <message>
        <source>{name} is typing the PIN</source>
        <translation>{name} 正在输入 PIN</translation>
    </message>
    <message>
        <source>{name} is on screen</source>
        <translation>{name} 正在屏幕上</translation>
    </message>
    <message>
        <source>{name}: reconnecting…</source>
        <translation>{name}：正在重新连接…</translation>
    </message>
    <message>
        <source>Type allow N, deny N or stop N (N: the presenter&apos;s number or name).</source>
        <translation>输入 allow N、deny N 或 stop N（N：演示者的编号或名称）。</translation>
    </message>
    <message>
        <source>No presenter {which} is in the room.</source>
        <translation>会议室中没有演示者 {which}。</translation>
    </message>
    <message>
        <source>More than one presenter is called {which}: {numbered}. Type the number.</source>
        <translation>不止一位投屏者叫 {which}：{numbered}。请输入编号。</translation>
    </message>
    <message>
        <source>Cannot {command} {name} now.</source>
        <translation>现在无法对 {name} 执行 {command}。</translation>
    </message>
    <message>
        <source>Cast code {code}</source>
        <translation>投屏码 {code}</translation>
    </message>
    <message>
        <source>On the laptop: castapp send {code}  (or {link})</source>
        <translation>在笔记本电脑上：castapp send {code}（或 {link}）</translation>
    </message>
    <message>
        <source>On the laptop: castapp send {code}</source>
        <translation>在笔记本电脑上：castapp send {code}</translation>
    </message>
    <message>
        <source>In a browser: {link}  (the browser warns about this TV&apos;s own certificate; its SHA-256 fingerprint starts {fingerprint})</source>
        <translation>在浏览器中打开：{link}（浏览器会就这台电视自己的证书发出警告；其 SHA-256 指纹开头为 {fingerprint}）</translation>
    </message>
    <message>
        <source>Certificate SHA-256 starts {fingerprint}</source>
        <translation>证书 SHA-256 指纹开头：{fingerprint}</translation>
    </message>
    <message>
        <source>Room service on {address}:{port}</source>
        <translation>房间服务位于 {address}:{port}</translation>
    </message>
    <message>
        <source>Room service on port {port} (no network address other machines can reach)</source>
        <translation>房间服务位于端口 {port}（没有其他电脑可以访问的网络地址）</translation>
    </message>
    <message>
        <source>Found on this network by its code</source>
        <translation>可在此网络上通过投屏码找到</translation>
    </message>
    <message>
        <source>Cannot advertise on the network: {reason}</source>
        <translation>无法在网络上广播：{reason}</translation>
    </message>
    <message>
        <source>Not advertised on the network</source>
        <translation>未在网络上广播</translation>
    </message>
    <message>
        <source>Asking the TV…</source>
        <translation>正在询问电视…</translation>
    </message>
    <message>
        <source>Waiting for the TV to allow you…</source>
        <translation>正在等待电视允许你…</translation>
    </message>
    <message>
        <source>Type the PIN shown on the TV</source>
        <translation>输入电视上显示的 PIN</translation>
    </message>
    <message>
        <source>Too many wrong PINs. Try again in {s} s with the new PIN on the TV.</source>
        <translation>错误的 PIN 太多。请在 {s} 秒后用电视上的新 PIN 重试。</translation>
    </message>
    <message>
        <source>That PIN is not the one on the TV.</source>
        <translation>这不是电视上显示的 PIN。</translation>
    </message>
    <message>
        <source>The region reaches past the screen: {width}x{height} at {left},{top} is sent.</source>
        <translation>所选区域超出了屏幕：实际发送的是位于 {left},{top} 的 {width}x{height}。</translation>
    </message>
    <message>
        <source>That is not a PIN: type the digits shown on the TV.</source>
        <translation>这不是 PIN：请输入电视上显示的数字。</translation>
    </message>
    <message>
        <source>on screen: full</source>
        <translation>屏幕上：全屏</translation>
    </message>
    <message>
        <source>on screen: spotlit</source>
        <translation>屏幕上：聚焦</translation>
    </message>
    <message>
        <source>on screen: tile {n} of {m}</source>
        <translation>屏幕上：第 {n} 格，共 {m} 格</translation>
    </message>
    <message>
        <source>Found {name} at {host}:{port}</source>
        <translation>在 {host}:{port} 找到 {name}</translation>
    </message>
    <message>
        <source>Frame rate: {fps} fps</source>
        <translation>帧率：{fps} fps</translation>
    </message>
    <message>
        <source>Bitrate: {kbps} kbit/s</source>
        <translation>码率：{kbps} kbit/s</translation>
    </message>
    <message>
        <source>Resolution: {size}</source>
        <translation>分辨率：{size}</translation>
    </message>
    <message>
        <source>Codec: {codec}</source>
        <translation>编码：{codec}</translation>
    </message>
    <message>
        <source>Path: {path}</source>
        <translation>路径：{path}</translation>
    </message>
    <message>
        <source>Latency: {ms} ms</source>
        <translation>延迟：{ms} 毫秒</translation>
    </message>
    <message>
        <source>the receiver</source>
        <translation>接收端</translation>
    </message>
    <message>
        <source>Looking for {code}…</source>
        <translation>正在查找 {code}…</translation>
    </message>
    <message>
        <source>Connecting to {name}…</source>
        <translation>正在连接 {name}…</translation>
    </message>
    <message>
        <source>Casting to {name}</source>
        <translation>正在投屏到 {name}</translation>
    </message>
    <message>
        <source>Connection lost — reconnecting to {name}…</source>
        <translation>连接中断 — 正在重新连接 {name}…</translation>
    </message>
    <message>
        <source>The receiver dropped out — waiting for it to come back…</source>
        <translation>接收端已断开 — 正在等待其恢复…</translation>
    </message>
    <message>
        <source>Type the code shown on the TV.</source>
        <translation>请输入电视上显示的投屏码。</translation>
    </message>
    <message>
        <source>The receiver ended the cast.</source>
        <translation>接收端结束了投屏。</translation>
    </message>
    <message>
        <source>The receiver is showing someone else&apos;s screen.</source>
        <translation>接收端正在显示其他人的屏幕。</translation>
    </message>
    <message>
        <source>The receiver closed. Check the code and cast again.</source>
        <translation>接收端已关闭。请核对投屏码后重新投屏。</translation>
    </message>
    <message>
        <source>The connection to the receiver was lost.</source>
        <translation>与接收端的连接已断开。</translation>
    </message>
    <message>
        <source>The cast ended.</source>
        <translation>投屏已结束。</translation>
    </message>
    <message>
        <source>Casting to {code}</source>
        <translation>正在投屏到 {code}</translation>
    </message>
</context>
<context>
    <name>TvList</name>
    <message>
        <source>Add a TV</source>
        <translation>添加电视</translation>
    </message>
    <message>
        <source>Code of another TV</source>
        <translation>另一台电视的投屏码</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Stop casting to {name}</source>
        <translation>停止投屏到 {name}</translation>
    </message>
</context>
<context>
    <name>Wall</name>
    <message>
        <source>Reconnecting…</source>
        <translation>正在重新连接…</translation>
    </message>
    <message>
        <source>{name} is connecting…</source>
        <translation>{name} 正在连接…</translation>
    </message>
    <message>
        <source>Browser</source>
        <translation>浏览器</translation>
    </message>
    <message>
        <source>Not verified</source>
        <translation>未验证</translation>
    </message>
    <message>
        <source>Sound</source>
        <translation>声音</translation>
    </message>
    <message>
        <source>Muted</source>
        <translation>已静音</translation>
    </message>
    <message>
        <source>Mute sound</source>
        <translation>静音</translation>
    </message>
</context>
</TS>
