<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
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
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>Snapshot saved: {name}</source>
        <translation>截图已保存：{name}</translation>
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
        <translation>castapp — 投射此屏幕</translation>
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
        <source>Code on the TV, e.g. 482 913</source>
        <translation>电视上显示的投屏码，例如 482 913</translation>
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
        <source>{n} more digits</source>
        <translation>还差 {n} 位</translation>
    </message>
    <message>
        <source>Cast</source>
        <translation>投屏</translation>
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
        <source>No receiver with this code answered on this network. Enter the room service address shown on the TV.</source>
        <translation>此网络上没有使用该投屏码的接收端应答。请输入电视上显示的房间服务地址。</translation>
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
        <source>Cannot capture the screen: {error}</source>
        <translation>无法捕获屏幕：{error}</translation>
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
        <source>No receiver is showing this code. Check the code on the TV.</source>
        <translation>没有接收端显示此投屏码。请核对电视上的投屏码。</translation>
    </message>
    <message>
        <source>This receiver already has as many senders as it accepts.</source>
        <translation>此接收端的发送者已达上限。</translation>
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
        <source>The room service refused: {reason}</source>
        <translation>房间服务拒绝了请求：{reason}</translation>
    </message>
    <message>
        <source>(retry in {s} s)</source>
        <translation>（{s} 秒后重试）</translation>
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
        <source>Starting…</source>
        <translation>正在启动…</translation>
    </message>
    <message>
        <source>{name} is connecting…</source>
        <translation>{name} 正在连接…</translation>
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
</TS>
