"""placeholder"""

from yibao.entrypoints.web.pages import router

web = router()
