# external.mk - The packages of this BR2_EXTERNAL tree (one: outpost).
include $(BR2_EXTERNAL_OUTPOST_PATH)/package/outpost/outpost.mk
