# Written by os-apply-config from the node's metadata (docs/metadata.md).
# Loaded after Debian's local_settings.py and its _0*_debian_* snippets.
OPENSTACK_HOST = "{{keystone.host}}"
OPENSTACK_KEYSTONE_URL = "http://{{keystone.host}}:5000/v3"
OPENSTACK_KEYSTONE_DEFAULT_ROLE = "member"
ALLOWED_HOSTS = {{horizon.allowed_hosts}}
{{#horizon.secret_key}}
SECRET_KEY = "{{horizon.secret_key}}"
{{/horizon.secret_key}}
{{#memcached.servers}}
SESSION_ENGINE = "django.contrib.sessions.backends.cache"
CACHES = {"default": {"BACKEND": "django.core.cache.backends.memcached.PyMemcacheCache", "LOCATION": "{{memcached.servers}}"}}
{{/memcached.servers}}
