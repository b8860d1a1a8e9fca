"""A bare Streamlit client for attack tests: it speaks the browser's websocket protocol (protobuf
BackMsg/ForwardMsg), so a test can send what no button offers — ``clear_cache``, file upload URL
requests, a foreign ``Host``, a reconnection with a stolen session id."""

from __future__ import annotations

import http.cookiejar
import urllib.request
from dataclasses import dataclass, field

import websocket
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

TIMEOUT = 60.0


def xsrf_token(base: str) -> str:
    """The XSRF cookie anyone gets from the health endpoint, no login needed."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(f"{base}/_stcore/health", timeout=10) as response:
        response.read()
    return next(c.value for c in jar if c.name == "_streamlit_xsrf")


@dataclass
class Run:
    """What one script run drew: widget ids by label and every text shown."""

    widgets: dict[str, str] = field(default_factory=dict)
    texts: list[str] = field(default_factory=list)
    media: list[str] = field(default_factory=list)

    @property
    def page(self) -> str:
        return "\n".join(self.texts)


class Client:
    def __init__(
        self,
        base: str,
        host: str | None = None,
        session_id: str | None = None,
        headers: list[str] | None = None,
    ) -> None:
        self.base = base
        self.xsrf = xsrf_token(base)
        protocols = ["streamlit", self.xsrf] + ([session_id] if session_id else [])
        headers = [f"Sec-WebSocket-Protocol: {', '.join(protocols)}", *(headers or [])]
        self.ws = websocket.create_connection(
            base.replace("http://", "ws://") + "/_stcore/stream",
            header=headers,
            cookie=f"_streamlit_xsrf={self.xsrf}",
            origin=f"http://{host}" if host else base,
            host=host,
            timeout=TIMEOUT,
        )
        self.session_id: str | None = None

    def send(self, message: BackMsg) -> None:
        self.ws.send_binary(message.SerializeToString())

    def receive(self) -> ForwardMsg:
        message = ForwardMsg()
        message.ParseFromString(self.ws.recv())
        if message.WhichOneof("type") == "new_session":
            self.session_id = message.new_session.initialize.session_id
        return message

    def run(self, widgets: list[WidgetState] | None = None) -> Run:
        """Rerun the script (with ``widgets`` set, as a form submit does) and read what it drew."""
        message = BackMsg()
        message.rerun_script.query_string = ""
        message.rerun_script.page_script_hash = ""
        message.rerun_script.widget_states.widgets.extend(widgets or [])
        self.send(message)
        drawn = Run()
        while True:
            forward = self.receive()
            kind = forward.WhichOneof("type")
            if kind == "delta":
                _read(forward.delta.new_element, drawn)
            elif kind == "script_finished":
                if forward.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                    return drawn
                drawn = Run()  # st.rerun(): what counts is the run that follows

    def clear_cache(self) -> None:
        """What the "Clear cache" menu item sends; any client may send it."""
        message = BackMsg()
        message.clear_cache = True
        self.send(message)

    def upload_urls(self, name: str) -> str:
        """Ask for an upload URL, as st.file_uploader's frontend does."""
        message = BackMsg()
        message.file_urls_request.request_id = "r1"
        message.file_urls_request.file_names.append(name)
        message.file_urls_request.session_id = self.session_id or ""
        self.send(message)
        while (forward := self.receive()).WhichOneof("type") != "file_urls_response":
            pass
        return forward.file_urls_response.file_urls[0].upload_url

    def close(self) -> None:
        self.ws.close()


def _read(element: object, drawn: Run) -> None:
    kind = element.WhichOneof("type")
    if kind is None:
        return
    body = getattr(element, kind)
    for attribute in ("body", "label"):
        value = getattr(body, attribute, None)
        if isinstance(value, str) and value:
            drawn.texts.append(value)
    if kind in ("text_input", "button"):
        drawn.widgets[body.label] = body.id
    if kind == "exception":
        drawn.texts += [body.type, body.message, *body.stack_trace]
    if kind == "download_button":
        drawn.media.append(body.url)


def password_submit(run: Run, password: str) -> list[WidgetState]:
    """The widget states a browser sends when the login form is submitted."""
    typed = WidgetState(id=run.widgets["Password"], string_value=password)
    pressed = WidgetState(id=run.widgets["Log in"], trigger_value=True)
    return [typed, pressed]
