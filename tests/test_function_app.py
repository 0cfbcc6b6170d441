"""The app indexes exactly the expected functions, bound as designed."""
import azure.functions as func


def test_indexed_function_names(functions):
    assert set(functions) == {
        "upload_images", "list_images", "get_image", "delete_image", "get_batch", "list_tags", "health",
        "tag_image", "tag_image_poison", "ui_page", "ui_asset", "openapi", "no_route",
        "sweep_orphans", "retag_image", "retag_images", "get_retag",
    }  # fmt: skip


def test_http_routes_methods_and_auth(functions):
    routes = {
        name: (f.get_trigger().route, tuple(str(m) for m in f.get_trigger().methods or ()), f.get_trigger().auth_level)
        for name, f in functions.items()
        if f.get_trigger().get_binding_name() == "httpTrigger"
    }
    assert routes["upload_images"][:2] == ("images", ("POST",))
    assert routes["list_images"][:2] == ("images", ("GET",))
    assert routes["get_image"][:2] == ("images/{id}", ("GET",))
    assert routes["delete_image"][:2] == ("images/{id}", ("DELETE",))
    assert routes["get_batch"][:2] == ("batches/{id}", ("GET",))
    assert routes["list_tags"][:2] == ("tags", ("GET",))
    assert routes["retag_image"][:2] == ("images/{id}/retag", ("POST",))
    assert routes["retag_images"][:2] == ("retags", ("POST",))
    assert routes["get_retag"][:2] == ("retags/{id}", ("GET",))
    assert routes["ui_page"][:2] == ("ui", ("GET",))
    assert routes["ui_asset"][:2] == ("ui/{*path}", ("GET",))
    assert routes["openapi"][:2] == ("openapi.json", ("GET",))
    # Every method, at the lowest precedence: only what no other function takes.
    assert routes["no_route"][:2] == ("{*path}", ())
    # The page holds no data (its API calls carry the key); the description and the
    # 404/405 fallback hold nothing secret either.
    anonymous = {"health", "ui_page", "ui_asset", "openapi", "no_route"}
    assert all(routes[name][2] == func.AuthLevel.ANONYMOUS for name in anonymous)
    assert all(auth == func.AuthLevel.FUNCTION for name, (_, _, auth) in routes.items() if name not in anonymous)


def test_queue_triggers_use_setting_expressions(functions):
    assert functions["tag_image"].get_trigger().queue_name == "%TAGGING_QUEUE%"
    assert functions["tag_image_poison"].get_trigger().queue_name == "%TAGGING_QUEUE%-poison"
    assert functions["tag_image"].get_trigger().connection == "AzureWebJobsStorage"


def test_sweeper_is_a_timer_on_a_setting_expression(functions):
    trigger = functions["sweep_orphans"].get_trigger()
    assert trigger.get_binding_name() == "timerTrigger"
    assert trigger.schedule == "%TAGGING_SWEEP_SCHEDULE%"
    assert trigger.run_on_startup is False and trigger.use_monitor is True
