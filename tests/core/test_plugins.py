"""The plugin contract: discovery, names, clashes, overrides, allow/block lists, failures."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Self

import pytest

from langson_comms import ConfigContext, PluginError, Runtime, UnknownNameError, hookimpl
from langson_comms.default_plugins.channels import PressChannel
from langson_comms.plugins import BLOCK_ENV, DEFAULT_PLUGINS, make_plugin_manager, plugin_hooks


def fake_distribution(root: Path, name: str, module_source: str, hook_module: str | None = None) -> Path:
    """Write an installed-looking distribution (module + dist-info with an entry point) under root."""
    module = hook_module or name.replace("-", "_")
    (root / f"{module}.py").write_text(module_source, encoding="utf-8")
    info = root / f"{module}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[langson_comms]\n{name} = {module}\n", encoding="utf-8")
    return root


class Channel:
    name: ClassVar[str] = "press"

    @classmethod
    def from_config(cls, config: Any, context: ConfigContext) -> Self:
        return cls()


def plugin_with(*classes: type[Any]) -> object:
    class Plugin:
        @hookimpl
        def register_channels(self) -> list[type[Any]]:
            return list(classes)

    return Plugin()


def test_builtins_are_ordinary_plugins(runtime: Runtime) -> None:
    hooks = plugin_hooks(runtime.plugin_manager)
    for module in DEFAULT_PLUGINS:
        assert runtime.plugin_manager.has_plugin(module)
        assert hooks[module], f"{module} implements no hook"
    assert runtime.registry.get("channel", "press") is PressChannel


def test_entry_point_plugin_is_discovered() -> None:
    # The example distribution under plugins/ is installed in the workspace.
    runtime = Runtime.create(env={})
    assert runtime.plugin_manager.has_plugin("zalo")
    entry = next(e for e in runtime.registry if e.name == "zalo_zns")
    assert (entry.kind, entry.plugin) == ("channel", "zalo")


def test_misspelled_hook_fails_at_start_up_naming_it() -> None:
    class Typo:
        @hookimpl
        def register_chanels(self) -> list[type[Any]]:
            return []

    with pytest.raises(PluginError) as info:
        make_plugin_manager(entry_points=False, plugins=[Typo()], env={})
    message = str(info.value)
    assert "unknown hook 'register_chanels'" in message and "did you mean 'register_channels'" in message


def test_two_classes_with_one_name_name_both_plugins(runtime: Runtime, register_plugin) -> None:
    with pytest.raises(PluginError) as info:
        register_plugin(plugin_with(Channel), name="newspapers")
    message = str(info.value)
    assert "two channel classes are named 'press'" in message
    assert "'langson_comms.default_plugins.channels'" in message and "'newspapers'" in message
    # the failed registration left the runtime as it was
    assert not runtime.plugin_manager.has_plugin("newspapers")
    assert runtime.registry.get("channel", "press") is PressChannel


def test_third_party_can_override_a_builtin(runtime: Runtime, register_plugin) -> None:
    class BetterPress(Channel):
        override: ClassVar[bool] = True

    register_plugin(plugin_with(BetterPress), name="better-press")
    assert runtime.registry.get("channel", "press") is BetterPress
    entry = next(e for e in runtime.registry if e.name == "press")
    assert entry.replaced == "langson_comms.default_plugins.channels"


def test_two_third_parties_cannot_both_claim_a_name(runtime: Runtime, register_plugin) -> None:
    class Mine(Channel):
        name: ClassVar[str] = "mine"
        override: ClassVar[bool] = True

    register_plugin(plugin_with(Mine), name="first")
    with pytest.raises(PluginError, match="'first'.*'second'") as info:
        register_plugin(plugin_with(Mine), name="second")
    assert "override = True only replaces a built-in" in str(info.value)


def test_a_clash_between_third_parties_does_not_suggest_override(
        runtime: Runtime, register_plugin) -> None:
    class Mine(Channel):
        name: ClassVar[str] = "mine"

    register_plugin(plugin_with(Mine), name="first")
    with pytest.raises(PluginError) as info:
        register_plugin(plugin_with(Mine), name="second")
    message = str(info.value)
    assert "two channel classes are named 'mine'" in message
    assert "override = True" not in message, message  # no help: 'first' is no built-in
    assert "rename one" in message
    # a clash with a built-in still says how to replace it
    with pytest.raises(PluginError, match=r"set override = True to replace a built-in"):
        register_plugin(plugin_with(Channel), name="third")


def test_unknown_names_say_to_check_the_plugin_is_installed(runtime: Runtime) -> None:
    with pytest.raises(UnknownNameError) as info:
        runtime.registry.get("sms_gateway", "smpp")
    assert str(info.value) == ("no sms_gateway named 'smpp' (known: generic_http); "
                               "is its plugin installed? see `langson-comms plugins`")


def test_unknown_names_in_the_plugin_lists_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    make_plugin_manager(env={"LANGSON_COMMS_PLUGINS": "zalo, zalp",
                             BLOCK_ENV: "langson_comms.default_plugins.kpis,kpiz"},
                        block=["elsewhere"])
    warned = [r.getMessage() for r in caplog.records if r.name == "langson_comms.plugins"]
    assert len(warned) == 3, warned
    assert warned[0].startswith("LANGSON_COMMS_PLUGINS names 'zalp', which is not an installed"
                                " plugin (did you mean 'zalo'?)")
    assert warned[1].startswith("LANGSON_COMMS_BLOCK_PLUGINS names 'kpiz', which is not")
    assert warned[2].startswith("the block list names 'elsewhere', which is not")
    assert all(w.endswith("is its plugin installed? see `langson-comms plugins`") for w in warned)


def test_block_list_by_environment_and_api() -> None:
    blocked = Runtime.create(entry_points=True, env={BLOCK_ENV: "zalo, langson_comms.default_plugins.kpis"})
    assert not blocked.plugin_manager.has_plugin("zalo")
    assert blocked.registry.names("kpi") == []
    blocked_api = Runtime.create(block=["langson_comms.default_plugins.channels"], env={})
    with pytest.raises(UnknownNameError, match="no channel named 'press'"):
        blocked_api.registry.get("channel", "press")


def test_allow_list_loads_only_named_entry_points() -> None:
    assert not Runtime.create(allow=["something-else"], env={}).plugin_manager.has_plugin("zalo")
    assert Runtime.create(env={"LANGSON_COMMS_PLUGINS": "zalo"}).plugin_manager.has_plugin("zalo")


def test_plugin_failing_to_import_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_distribution(tmp_path, "broken-gateway", "import no_such_module_for_sure\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as info:
        make_plugin_manager(env={})
    message = str(info.value)
    assert "plugin 'broken-gateway' (distribution broken-gateway) failed to import" in message
    assert "No module named 'no_such_module_for_sure'" in message
    # and it can be blocked to get going again
    make_plugin_manager(env={BLOCK_ENV: "broken-gateway"})


def test_plugin_raising_in_a_hook_is_named(runtime: Runtime, register_plugin) -> None:
    class Raises:
        @hookimpl
        def register_kpis(self) -> list[type[Any]]:
            raise RuntimeError("database unavailable")

    with pytest.raises(PluginError, match=r"plugin 'raiser' raised in register_kpis\(\): RuntimeError: database"):
        register_plugin(Raises(), name="raiser")


def test_contribution_without_name_or_from_config_is_refused(runtime: Runtime, register_plugin) -> None:
    class Nameless:
        pass

    with pytest.raises(PluginError, match="expected a class with a non-empty str attribute 'name'"):
        register_plugin(plugin_with(Nameless), name="nameless")

    class NoFactory:
        name = "nofactory"

    with pytest.raises(PluginError, match="has no from_config"):
        register_plugin(plugin_with(NoFactory), name="nofactory")


def test_runtimes_do_not_share_plugins(register_plugin, runtime: Runtime) -> None:
    class Extra(Channel):
        name: ClassVar[str] = "extra"

    register_plugin(plugin_with(Extra), name="extra")
    other = Runtime.create(entry_points=False, env={})
    assert "extra" in runtime.registry.names("channel")
    assert "extra" not in other.registry.names("channel")
