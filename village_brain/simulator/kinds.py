"""The kinds of device a village installs: what each one measures and where it stands."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DeviceKind:
    name: str
    id_prefix: str
    sensors: tuple[str, ...]
    places: tuple[str, ...]
    # Share of a village's devices beyond the first of each kind.
    share: int
    # Gauges and buoys sit in the river; everything else stands some way back from it.
    on_river: bool = False
    senml: bool = False


KINDS: tuple[DeviceKind, ...] = (
    DeviceKind(
        name="river_gauge",
        id_prefix="gauge",
        sensors=("water_level", "rainfall", "battery_voltage", "rssi"),
        places=("北桥河岸", "南桥水位站", "老埠头", "堰坝上游", "村口石桥下", "溪滩水文桩"),
        share=2,
        on_river=True,
    ),
    DeviceKind(
        name="weather_station",
        id_prefix="weather",
        sensors=("air_temperature", "air_humidity", "rainfall", "illuminance", "pm2_5", "pm10"),
        places=("村委会楼顶", "文化礼堂屋顶", "小学操场边", "茶厂晒场"),
        share=1,
    ),
    DeviceKind(
        name="street_lamp",
        id_prefix="lamp",
        sensors=("lamp_state", "lamp_power", "illuminance"),
        places=(
            "村口路灯",
            "祠堂前",
            "石桥头",
            "老街中段",
            "停车场",
            "晒谷场",
            "公交站旁",
            "溪边步道",
            "篮球场边",
            "大樟树下",
        ),
        share=5,
    ),
    DeviceKind(
        name="soil_probe",
        id_prefix="soil",
        sensors=("soil_moisture", "soil_temperature", "battery_voltage"),
        places=("东头菜园", "王家菜地", "后山茶园边", "河滩菜地", "西坡菜园", "李家自留地"),
        share=3,
    ),
    DeviceKind(
        name="water_quality_buoy",
        id_prefix="buoy",
        sensors=("water_ph", "turbidity", "dissolved_oxygen", "battery_voltage"),
        places=("溪心浮标", "拦水坝下", "洗衣埠头", "荷塘出水口"),
        share=1,
        on_river=True,
        senml=True,
    ),
    DeviceKind(
        name="smoke_detector",
        id_prefix="smoke",
        sensors=("smoke", "combustible_gas"),
        places=("文化礼堂厨房", "老年食堂", "祠堂", "村卫生室", "小卖部", "农家乐厨房"),
        share=2,
    ),
    DeviceKind(
        name="manhole_cover",
        id_prefix="manhole",
        sensors=("cover_tilt", "battery_voltage"),
        places=("老街窨井", "村委会门口窨井", "菜场旁窨井", "桥头雨水井"),
        share=2,
    ),
    # Actuators: they report their state and obey commands (simulator/obey.py).
    DeviceKind(
        name="sluice_gate",
        id_prefix="sluice",
        sensors=("sluice_position", "battery_voltage"),
        places=("堰坝闸门", "灌渠进水闸", "荷塘排水闸"),
        share=1,
        on_river=True,
    ),
    DeviceKind(
        name="siren",
        id_prefix="siren",
        sensors=("siren_state",),
        places=("村委会广播塔", "桥头警报器", "小学门口警报器"),
        share=1,
    ),
)

BY_NAME: dict[str, DeviceKind] = {kind.name: kind for kind in KINDS}


def kind_sequence(count: int) -> list[DeviceKind]:
    """Which kinds a village of `count` devices gets, in the order they are added.

    One of each kind comes first, so even a small village shows everything; each later device
    is of the kind furthest below its share, which keeps the mix right at every size.
    """
    chosen = list(KINDS[:count])
    counts = {kind.name: 1 for kind in chosen}
    total = sum(kind.share for kind in KINDS)
    while len(chosen) < count:
        size = len(chosen) + 1
        best = max(KINDS, key=lambda k: k.share * size / total - counts.get(k.name, 0))
        counts[best.name] += 1
        chosen.append(best)
    return chosen
