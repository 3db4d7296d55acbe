"""Run-time hook of the frozen app, in place of PyInstaller's own for PySide6.

PyInstaller's hook imports PySide6.QtCore at every start to register an embedded qt.conf,
which loads Qt and ICU even for ``castapp --version`` and ``castapp serve`` (a tenth of a
second or more). This one sets the same environment at once and registers the qt.conf when
PySide6.QtCore is first imported, by castapp's windows.
"""

# ruff: noqa


def _pyi_rthook():
    import importlib.util
    import os
    import sys

    from _pyi_rth_utils import is_macos_app_bundle, prepend_path_to_environment_variable
    from _pyi_rth_utils import qt as qt_rth_utils

    qt_rth_utils.ensure_single_qt_bindings_package("PySide6")
    if sys.platform.startswith("win"):
        qt_path = os.path.join(sys._MEIPASS, "PySide6")
    else:
        qt_path = os.path.join(sys._MEIPASS, "PySide6", "Qt")
    os.environ["QT_PLUGIN_PATH"] = os.path.join(qt_path, "plugins")
    if is_macos_app_bundle:
        res = os.path.normpath(os.path.join(sys._MEIPASS, "..", "Resources",
                                            os.path.relpath(qt_path, sys._MEIPASS)))
        os.environ["QML2_IMPORT_PATH"] = os.pathsep.join(
            [os.path.join(res, "qml"), os.path.join(qt_path, "qml")])
    else:
        os.environ["QML2_IMPORT_PATH"] = os.path.join(qt_path, "qml")
    if sys.platform.startswith("win"):
        prepend_path_to_environment_variable(sys._MEIPASS, "PATH")
    if sys.platform == "darwin" and not is_macos_app_bundle:
        prepend_path_to_environment_variable(sys._MEIPASS, "DYLD_LIBRARY_PATH")

    class QtCoreFirstImport:
        """Finds nothing itself; wraps the loader of PySide6.QtCore once."""

        def find_spec(self, fullname, path=None, target=None):
            if fullname != "PySide6.QtCore":
                return None
            sys.meta_path.remove(self)
            spec = importlib.util.find_spec(fullname)
            if spec is None or spec.loader is None:
                return spec
            exec_module = spec.loader.exec_module

            def exec_then_configure(module):
                exec_module(module)
                qt_rth_utils.create_embedded_qt_conf("PySide6", qt_path)

            spec.loader.exec_module = exec_then_configure
            return spec

    sys.meta_path.insert(0, QtCoreFirstImport())


_pyi_rthook()
del _pyi_rthook
