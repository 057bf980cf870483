"""The directory of departments and people work is routed to, as the settings parsed it."""

from __future__ import annotations

from village_brain.core.config import Department, DirectorySettings, Person


class Directory:
    def __init__(self, departments: list[Department], people: list[Person]) -> None:
        self.departments = {d.id: d for d in departments}
        self.people = {p.id: p for p in people}

    @classmethod
    def from_settings(cls, settings: DirectorySettings) -> Directory:
        return cls(settings.departments, settings.people)

    def department(self, department_id: str) -> Department | None:
        return self.departments.get(department_id)

    def person(self, person_id: str) -> Person | None:
        return self.people.get(person_id)

    def person_of_account(self, account: str) -> Person | None:
        """The person an account belongs to, when the directory names it."""
        return next((p for p in self.people.values() if p.account and p.account == account), None)

    def unknown_department(self, department_id: str) -> str:
        known = ", ".join(self.departments) or "none"
        return f"no department {department_id!r} in the directory (it has: {known})"

    def unknown_person(self, person_id: str) -> str:
        known = ", ".join(self.people) or "nobody"
        return f"no person {person_id!r} in the directory (it has: {known})"
