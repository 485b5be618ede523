import factories
import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_assembly_listing_renders(admin_client):
    asm = factories.assembly()
    response = admin_client.get(reverse("wagtailsnippets_wagtail_batchcomms_assembly:list"))
    assert response.status_code == 200
    assert asm.serial_number in response.content.decode()
